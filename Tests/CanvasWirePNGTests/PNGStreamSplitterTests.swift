import CanvasWireCore
import CanvasWirePNG
import Testing

@Suite struct PNGStreamSplitterTests {
    private func samplePNGs() throws -> [[UInt8]] {
        let cases = try GeneratedCases.load()
        return try ["ct6_d8_flat_33x17", "ct0_d1_adam7_1x1", "layout_one_byte_idats", "layout_ancillary_chunks",
            "ct3_d8_flat_trns_7x3"].map { try cases.png($0) }
    }

    @Test func oneByteAtATimeYieldsEachFileWhole() throws {
        let files = try samplePNGs()
        var splitter = PNGStreamSplitter()
        var output: [[UInt8]] = []
        for byte in files.joined() {
            output += try splitter.append([byte])
        }
        try splitter.finish()
        #expect(output == files)
        #expect(splitter.bufferedByteCount == 0)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomChunksYieldEachFileWhole(seed: UInt64) throws {
        let files = try samplePNGs()
        let stream = Array(files.joined())
        var generator = SplitMix64(seed: seed)
        var splitter = PNGStreamSplitter()
        var output: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let count = min(stream.count - offset, Int.random(in: 0...700, using: &generator))
            output += try stream[offset..<offset + count].withUnsafeBytes { buffer throws(PNGError) in
                try splitter.append(buffer)
            }
            offset += count
        }
        try splitter.finish()
        #expect(output == files)
    }

    @Test func everyFileDecodes() throws {
        var splitter = PNGStreamSplitter()
        let files = try splitter.append(Array(try samplePNGs().joined()))
        #expect(files.count == 5)
        for file in files { _ = try PNGDecoder().decode(file) }
    }

    @Test func nonPNGIsRejectedAtTheFirstWrongByte() throws {
        var splitter = PNGStreamSplitter()
        let error = #expect(throws: PNGError.self) { try splitter.append(Array("GIF89a".utf8)) }
        #expect(error?.code == .notPNG)
        #expect(error?.description == "not a PNG stream: no PNG signature at byte 0")
        // The splitter stays failed.
        #expect(throws: PNGError.self) { try splitter.append([0x89]) }
        #expect(throws: PNGError.self) { try splitter.finish() }
    }

    @Test func garbageBetweenFilesIsRejectedWithItsOffset() throws {
        let files = try samplePNGs()
        var splitter = PNGStreamSplitter()
        let error = #expect(throws: PNGError.self) { try splitter.append(files[0] + [0x00] + files[1]) }
        #expect(error?.description == "not a PNG stream: no PNG signature at byte \(files[0].count)")
    }

    @Test func chunkLengthAboveTheLimitIsRejected() throws {
        let limits = FrameLimits(maxWidth: 64, maxHeight: 64, maxPayloadBytes: 1000)
        var splitter = PNGStreamSplitter(limits: limits)
        let header: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x10, 0x00]
            + Array("IDAT".utf8)
        let error = #expect(throws: PNGError.self) { try splitter.append(header) }
        #expect(error?.code == .tooLarge)
        #expect(error?.description == "IDAT chunk at byte 8 declares 4096 bytes, over the limit of 1000 bytes")

        var lengthBomb = PNGStreamSplitter()
        let huge: [UInt8] = Array(header[0..<8]) + [0xFF, 0xFF, 0xFF, 0xF0] + Array("IDAT".utf8)
        #expect((#expect(throws: PNGError.self) { try lengthBomb.append(huge) })?.code == .tooLarge)
    }

    @Test func fileGrowingPastTheLimitIsRejected() throws {
        let files = try samplePNGs()
        var splitter = PNGStreamSplitter(limits: FrameLimits(maxPayloadBytes: files[0].count - 1))
        let error = #expect(throws: PNGError.self) { try splitter.append(files[0]) }
        #expect(error?.code == .tooLarge)
    }

    @Test func badChunkTypeIsRejected() throws {
        var splitter = PNGStreamSplitter()
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x00, 0x52]
        #expect((#expect(throws: PNGError.self) { try splitter.append(bytes) })?.code == .notPNG)
    }

    @Test func truncatedLastFileIsReportedAtEnd() throws {
        let files = try samplePNGs()
        var splitter = PNGStreamSplitter()
        let stream = files[0] + files[1].dropLast(5)
        #expect(try splitter.append(stream) == [files[0]])
        let error = #expect(throws: PNGError.self) { try splitter.finish() }
        #expect(error?.code == .truncated)
        #expect(
            error?.description
                == "stream ended inside a PNG file: \(files[1].count - 5) bytes of the file starting at byte \(files[0].count)")
    }

    @Test func emptyStreamIsFine() throws {
        var splitter = PNGStreamSplitter()
        #expect(try splitter.append([UInt8]()).isEmpty)
        try splitter.finish()
    }
}
