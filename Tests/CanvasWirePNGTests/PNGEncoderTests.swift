import CanvasWireCore
import CanvasWirePNG
import Foundation
import Testing

@Suite struct PNGEncoderTests {
    static let images: [(String, RGBAImage)] = [
        ("noise-alpha-33x17", TestImages.noise(width: 33, height: 17, seed: 1)),
        ("noise-opaque-64x9", TestImages.noise(width: 64, height: 9, seed: 2, opaque: true)),
        ("gradient-100x60", TestImages.gradient(width: 100, height: 60)),
        ("single-pixel", TestImages.noise(width: 1, height: 1, seed: 3)),
        ("column-1x37", TestImages.noise(width: 1, height: 37, seed: 4)),
    ]

    static let configurations: [EncoderSettings] = settings.map(EncoderSettings.init)

    static let settings: [PNGEncoder.Configuration] =
        [0, 1, 6, 9].flatMap { level in
            PNGEncoder.Filter.all.map { PNGEncoder.Configuration(level: level, filter: $0) }
        }
        + PNGEncoder.Strategy.all.map { PNGEncoder.Configuration(strategy: $0) }
        + [PNGEncoder.Configuration(writesOpaqueImagesAsRGB: false), PNGEncoder.Configuration()]

    @Test(arguments: configurations)
    func roundTripIsExact(settings: EncoderSettings) throws {
        let encoder = PNGEncoder(configuration: settings.configuration)
        for (name, image) in Self.images {
            let png = try encoder.encode(image)
            let decoded = try PNGDecoder().decode(png, source: name)
            #expect(decoded == image, "\(name) with \(settings.testDescription)")
        }
    }

    @Test func bufferPointerInputMatchesImageInput() throws {
        let image = TestImages.noise(width: 20, height: 10, seed: 9)
        let encoder = PNGEncoder()
        let fromPointer = try image.pixels.withUnsafeBytes { buffer throws(PNGError) in
            try encoder.encode(buffer, size: image.size)
        }
        #expect(fromPointer == (try encoder.encode(image)))
    }

    @Test func opaqueImagesAreWrittenAsRGBUnlessAlphaIsKept() throws {
        let opaque = TestImages.gradient(width: 16, height: 16)
        let colourTypeOffset = 8 + 8 + 9
        #expect(try PNGEncoder().encode(opaque)[colourTypeOffset] == 2)
        let keep = PNGEncoder(configuration: .init(writesOpaqueImagesAsRGB: false))
        #expect(try keep.encode(opaque)[colourTypeOffset] == 6)
        #expect(try PNGEncoder().encode(TestImages.noise(width: 4, height: 4, seed: 5))[colourTypeOffset] == 6)
    }

    @Test func mismatchedBufferAndBadOptionsAreRejected() throws {
        let encoder = PNGEncoder()
        let short = [UInt8](repeating: 0, count: 15)
        let error = #expect(throws: PNGError.self) {
            try short.withUnsafeBytes { buffer throws(PNGError) in
                try encoder.encode(buffer, size: FrameSize(width: 2, height: 2))
            }
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.description == "RGBA buffer is 15 bytes, but 2x2 needs 16")
        let badLevel = PNGEncoder(configuration: .init(level: 12))
        #expect(throws: PNGError.self) { try badLevel.encode(TestImages.gradient(width: 2, height: 2)) }
    }

    @Test func filterAndStrategyNamesRoundTrip() {
        for filter in PNGEncoder.Filter.all { #expect(PNGEncoder.Filter(name: filter.name) == filter) }
        for strategy in PNGEncoder.Strategy.all { #expect(PNGEncoder.Strategy(name: strategy.name) == strategy) }
        #expect(PNGEncoder.Filter(name: "ALL") == .adaptive)
        #expect(PNGEncoder.Filter(name: "median") == nil)
    }

    /// Encodes every test image with a spread of settings into a folder, with the expected pixels.
    private func writeEncodedSamples() throws -> (URL, [String]) {
        let folder = try makeTemporaryDirectory()
        var names: [String] = []
        let configurations = [
            PNGEncoder.Configuration(),
            PNGEncoder.Configuration(level: 9, filter: .adaptive),
            PNGEncoder.Configuration(level: 0, filter: .paeth),
            PNGEncoder.Configuration(level: 6, filter: .sub, strategy: .filtered, writesOpaqueImagesAsRGB: false),
        ]
        for (index, configuration) in configurations.enumerated() {
            for (name, image) in Self.images {
                let file = "\(name)-\(index)"
                try writeBytes(try PNGEncoder(configuration: configuration).encode(image),
                    to: folder.appendingPathComponent(file + ".png"))
                try writeBytes(image.pixels, to: folder.appendingPathComponent(file + ".rgba"))
                names.append(file)
            }
        }
        return (folder, names)
    }

    @Test(.enabled(if: pillowAvailable, "Pillow is not installed: pip install pillow"))
    func pillowReadsEncoderOutput() throws {
        let (folder, names) = try writeEncodedSamples()
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = """
            import sys
            from PIL import Image
            folder, bad = sys.argv[1], []
            for name in sys.argv[2:]:
                with Image.open(f"{folder}/{name}.png") as image:
                    got = image.convert("RGBA").tobytes()
                if got != open(f"{folder}/{name}.rgba", "rb").read():
                    bad.append(name)
            print(" ".join(bad))
            sys.exit(1 if bad else 0)
            """
        let result = try runPython(["-c", script, folder.path] + names)
        #expect(result.status == 0, "Pillow disagrees on: \(String(decoding: result.stdout, as: UTF8.self)) \(result.stderr)")
    }

    @Test(.enabled(if: which("pngcheck") != nil, "pngcheck is not installed: apt-get install -y pngcheck"))
    func pngcheckAcceptsEncoderOutput() throws {
        let (folder, names) = try writeEncodedSamples()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pngcheck = try #require(which("pngcheck"))
        for name in names {
            let result = try runProcess(pngcheck, ["-q", folder.appendingPathComponent(name + ".png").path])
            #expect(result.status == 0, "\(name): \(String(decoding: result.stdout, as: UTF8.self))\(result.stderr)")
        }
    }
}

/// A configuration as a test argument, named readably in test output.
struct EncoderSettings: Sendable, CustomTestStringConvertible {
    var configuration: PNGEncoder.Configuration

    var testDescription: String {
        let c = configuration
        return "level \(c.level), \(c.filter) filter, \(c.strategy) strategy\(c.writesOpaqueImagesAsRGB ? "" : ", keep alpha")"
    }
}
