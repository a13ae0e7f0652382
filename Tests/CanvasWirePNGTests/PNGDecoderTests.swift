import CanvasWireCore
import CanvasWirePNG
import Foundation
import Testing

@Suite struct PNGDecoderTests {
    let decoder = PNGDecoder()

    @Test func everyColourTypeDepthAndInterlaceDecodesToTheExpectedBytes() throws {
        let cases = try GeneratedCases.load()
        #expect(cases.valid.count > 250)
        for entry in cases.valid {
            let png = try cases.png(entry.name)
            let expected = try cases.rgba(entry.name)
            let image: RGBAImage
            do {
                image = try decoder.decode(png, source: entry.name)
            } catch {
                Issue.record("\(error)")
                continue
            }
            #expect(image.size == FrameSize(width: entry.width, height: entry.height), "\(entry.name)")
            #expect(image.pixels == expected, "\(entry.name): pixels differ")
        }
    }

    @Test func bufferPointerInputMatchesArrayInput() throws {
        let cases = try GeneratedCases.load()
        let name = try #require(cases.valid.first { $0.name.hasPrefix("ct3_d4_adam7_trns_33x17") }).name
        let png = try cases.png(name)
        let fromArray = try decoder.decode(png)
        let fromPointer = try png.withUnsafeBytes { buffer throws(PNGError) in try decoder.decode(buffer) }
        #expect(fromArray == fromPointer)
    }

    @Test(.enabled(if: pillowAvailable, "Pillow is not installed: pip install pillow"))
    func pillowAgreesWithTheIndependentlyComputedPixels() throws {
        let cases = try GeneratedCases.load()
        let compared = cases.valid.filter { $0.pillow != "not comparable" }
        #expect(compared.count > 200)
        for entry in compared {
            #expect(entry.pillow == "match", "\(entry.name): Pillow says \(entry.pillow)")
        }
    }

    @Test func corruptFilesAreRejectedWithTheRightError() throws {
        let cases = try GeneratedCases.load()
        #expect(!cases.corrupt.isEmpty)
        for entry in cases.corrupt {
            let png = try cases.png(entry.name)
            let error = #expect(throws: PNGError.self, "\(entry.name)") { try decoder.decode(png) }
            #expect(error?.code.description == entry.code, "\(entry.name): \(error.map { "\($0)" } ?? "no error")")
        }
    }

    @Test func decompressionBombIsRejectedBeforeAllocatingWithAReadableMessage() throws {
        let cases = try GeneratedCases.load()
        let png = try cases.png("bomb_50000x50000")
        let error = #expect(throws: PNGError.self) { try decoder.decode(png, source: "frames/x.png") }
        #expect(error?.code == .tooLarge)
        #expect(error?.description == "frames/x.png: declared 50000x50000 exceeds the limit of 16384 pixels")
    }

    @Test func callerLimitsApply() throws {
        let cases = try GeneratedCases.load()
        let png = try cases.png("ct6_d8_flat_33x17")
        let narrow = PNGDecoder(limits: FrameLimits(maxWidth: 32, maxHeight: 100, maxPayloadBytes: 1 << 20))
        let error = #expect(throws: PNGError.self) { try narrow.decode(png) }
        #expect(error?.code == .tooLarge)
        #expect(error?.description == "declared 33x17 exceeds the width limit of 32 pixels")
        let small = PNGDecoder(limits: FrameLimits(maxWidth: 100, maxHeight: 100, maxPayloadBytes: 33 * 17 * 4 - 1))
        #expect(throws: PNGError.self) { try small.decode(png) }
        let exact = PNGDecoder(limits: FrameLimits(maxWidth: 33, maxHeight: 17, maxPayloadBytes: 33 * 17 * 4))
        #expect(try exact.decode(png).size == FrameSize(width: 33, height: 17))
    }

    @Test func truncationAtEveryOffsetIsReported() throws {
        let cases = try GeneratedCases.load()
        for name in ["ct6_d16_adam7_33x17", "ct3_d8_flat_trns_7x3", "layout_ancillary_chunks", "ct0_d1_adam7_1x1"] {
            let png = try cases.png(name)
            for length in 1..<png.count {
                let error = #expect(throws: PNGError.self, "\(name) cut to \(length)") {
                    try decoder.decode(Array(png[..<length]), source: name)
                }
                #expect(error?.code == .truncated, "\(name) cut to \(length): \(error.map { "\($0)" } ?? "")")
                #expect(error?.description == "\(name): truncated after \(length) bytes")
            }
        }
    }

    @Test func emptyAndNonPNGInputIsNotPNG() throws {
        let empty = #expect(throws: PNGError.self) { try decoder.decode([UInt8]()) }
        #expect(empty?.code == .notPNG)
        let text = #expect(throws: PNGError.self) { try decoder.decode(Array("hello, world".utf8), source: "a.png") }
        #expect(text?.description == "a.png: not a PNG file (signature mismatch)")
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01]
        #expect((#expect(throws: PNGError.self) { try decoder.decode(jpeg) })?.code == .notPNG)
        // The right signature with a broken line-ending byte (as a text-mode transfer would leave it).
        let mangled: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00]
        #expect((#expect(throws: PNGError.self) { try decoder.decode(mangled) })?.code == .notPNG)
    }

    @Test func aFlippedCRCByteInAnyChunkIsRejected() throws {
        let cases = try GeneratedCases.load()
        let png = try cases.png("layout_ancillary_chunks")
        let layout = ChunkLayout(png)
        #expect(layout.chunks.map(\.type).contains("tEXt"))
        for chunk in layout.chunks {
            for byte in 0..<4 {
                var corrupt = png
                corrupt[chunk.crcOffset + byte] ^= 0x01
                let error = #expect(throws: PNGError.self, "CRC of \(chunk.type) byte \(byte)") {
                    try decoder.decode(corrupt)
                }
                #expect(error?.code == .malformed, "\(chunk.type): \(error.map { "\($0)" } ?? "")")
                #expect(error?.description.contains("CRC") == true, "\(error.map { "\($0)" } ?? "")")
            }
        }
    }

    @Test func trailingBytesAfterIENDAreIgnored() throws {
        let cases = try GeneratedCases.load()
        let png = try cases.png("ct2_d8_flat_7x3")
        let image = try decoder.decode(png + Array("trailing garbage".utf8))
        #expect(image.pixels == (try cases.rgba("ct2_d8_flat_7x3")))
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let cases = try GeneratedCases.load()
        var generator = SplitMix64(seed: 42)
        for name in ["ct6_d8_adam7_33x17", "ct3_d2_flat_trns_33x17", "ct0_d16_adam7_trns_64x5"] {
            let png = try cases.png(name)
            var rejected = 0
            for _ in 0..<400 {
                var corrupt = png
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 8..<corrupt.count, using: &generator)
                    corrupt[index] = UInt8.random(in: 0...255, using: &generator)
                }
                do {
                    let image = try decoder.decode(corrupt)
                    #expect(image.pixels.count == image.size.rgbaByteCount)
                } catch {
                    rejected += 1
                }
            }
            // Almost every random change breaks a CRC; the few that hit a CRC byte to its own value pass.
            #expect(rejected > 350, "\(name): only \(rejected) of 400 corruptions rejected")
        }
    }
}
