import CanvasWireCore
import CanvasWirePNG
import Foundation
import Testing

/// Runs the built `canvaswire convert` binary, as a user or a shell pipe would.
@Suite struct ConvertCommandTests {
    /// The `canvaswire` binary next to this test bundle, else in `.build/debug`.
    static let binary: String? = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [besideTests, besideTests.deletingLastPathComponent(), repositoryRoot.appendingPathComponent(".build/debug")] {
            let candidate = folder.appendingPathComponent("canvaswire").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    private func convert(_ arguments: [String], stdin: [UInt8]? = nil) throws -> ProcessOutput {
        let binary = try #require(Self.binary, "canvaswire binary not found; run swift build first")
        return try runProcess(binary, ["convert"] + arguments, stdin: stdin)
    }

    private func folderContents(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test func pngToRawToPNGRoundTrip() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = TestImages.noise(width: 33, height: 17, seed: 11)
        let original = folder.appendingPathComponent("in.png")
        try writeBytes(try PNGEncoder().encode(image), to: original)

        let raw = folder.appendingPathComponent("frame.rgba")
        let toRaw = try convert([original.path, raw.path])
        #expect(toRaw.status == 0, "\(toRaw.stderr)")
        #expect(try readBytes(raw) == image.pixels)

        let back = folder.appendingPathComponent("back.png")
        let toPNG = try convert(["--size", "33x17", raw.path, back.path])
        #expect(toPNG.status == 0, "\(toPNG.stderr)")
        #expect(try PNGDecoder().decode(try readBytes(back)) == image)

        let recoded = folder.appendingPathComponent("recoded.png")
        let reencode = try convert(["--level", "9", "--filter", "paeth", back.path, recoded.path])
        #expect(reencode.status == 0, "\(reencode.stderr)")
        #expect(try PNGDecoder().decode(try readBytes(recoded)) == image)
        #expect(try folderContents(folder) == ["back.png", "frame.rgba", "in.png", "recoded.png"])
    }

    @Test func stdoutGetsExactlyTheRawPixels() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = TestImages.gradient(width: 40, height: 30)
        let input = folder.appendingPathComponent("in.png")
        try writeBytes(try PNGEncoder().encode(image), to: input)
        let result = try convert(["--to", "rgba", input.path, "-"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count == 40 * 30 * 4)
        #expect(result.stdout == image.pixels)
        #expect(result.stderr.isEmpty)
    }

    @Test func stdinToStdoutPipe() throws {
        let image = TestImages.noise(width: 7, height: 3, seed: 12)
        let toPNG = try convert(["--size", "7x3", "--to", "png", "-", "-"], stdin: image.pixels)
        #expect(toPNG.status == 0, "\(toPNG.stderr)")
        #expect(try PNGDecoder().decode(toPNG.stdout) == image)
        // PNG on stdin is recognised by its signature.
        let toRaw = try convert(["--to", "rgba", "-", "-"], stdin: toPNG.stdout)
        #expect(toRaw.status == 0, "\(toRaw.stderr)")
        #expect(toRaw.stdout == image.pixels)
    }

    @Test func wrongRawSizeFailsWithBothNumbersAndNoOutput() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let raw = folder.appendingPathComponent("frame.rgba")
        try writeBytes([UInt8](repeating: 7, count: 1000), to: raw)
        let output = folder.appendingPathComponent("out.png")
        let result = try convert(["--size", "10x10", raw.path, output.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("1000 bytes"), "\(result.stderr)")
        #expect(result.stderr.contains("400"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(try folderContents(folder) == ["frame.rgba"])
    }

    @Test func corruptInputLeavesAnExistingOutputUntouched() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases = try GeneratedCases.load()
        let input = folder.appendingPathComponent("bad.png")
        let png = try cases.png("ct6_d8_flat_33x17")
        try writeBytes(Array(png.prefix(100)), to: input)
        let output = folder.appendingPathComponent("out.rgba")
        try writeBytes(Array("previous contents".utf8), to: output)
        let result = try convert([input.path, output.path])
        #expect(result.status != 0)
        #expect(result.stderr == "Error: \(input.path): truncated after 100 bytes\n")
        #expect(try readBytes(output) == Array("previous contents".utf8))
        #expect(try folderContents(folder) == ["bad.png", "out.rgba"])
    }

    @Test func unknownOutputFormatAndMissingInputAreClearErrors() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = try convert([folder.appendingPathComponent("nope.png").path, folder.appendingPathComponent("x.rgba").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.png: cannot open: No such file or directory"), "\(missing.stderr)")
        let stdout = try convert(["-", "-"], stdin: [1, 2, 3])
        #expect(stdout.status != 0)
        #expect(stdout.stderr.contains("--to"), "\(stdout.stderr)")
        let noSize = try convert(["-", folder.appendingPathComponent("x.png").path], stdin: [1, 2, 3, 4])
        #expect(noSize.stderr.contains("needs --size"), "\(noSize.stderr)")
        #expect(try folderContents(folder).isEmpty)
    }
}
