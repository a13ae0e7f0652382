import CanvasWireCore
import Foundation
import Testing

/// The repository root, found from this file's path so tests run from any working directory.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary folder for one test.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("canvaswire-png-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct ProcessOutput {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
}

/// Runs a program to completion. Output goes through files, not pipes, so large outputs cannot deadlock.
func runProcess(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil) throws -> ProcessOutput {
    let folder = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let outURL = folder.appendingPathComponent("stdout")
    let errURL = folder.appendingPathComponent("stderr")
    let inURL = folder.appendingPathComponent("stdin")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin ?? []))

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = inHandle
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    try inHandle.close()
    return ProcessOutput(
        status: process.terminationStatus,
        stdout: [UInt8](try Data(contentsOf: outURL)),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
    )
}

/// Runs `python3` from the PATH.
func runPython(_ arguments: [String], stdin: [UInt8]? = nil) throws -> ProcessOutput {
    try runProcess("/usr/bin/env", ["python3"] + arguments, stdin: stdin)
}

func readBytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

func writeBytes(_ bytes: [UInt8], to url: URL) throws { try Data(bytes).write(to: url) }

/// Whether a program is on the PATH (or at the given absolute path).
func which(_ program: String) -> String? {
    if program.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
        let candidate = "\(folder)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// The cases `tools/pngcases.py` generates, decoded from its manifest; generated once per test run.
struct GeneratedCases: Sendable {
    struct Valid: Decodable, Sendable {
        var name: String
        var width: Int
        var height: Int
        var pillow: String
    }

    struct Corrupt: Decodable, Sendable {
        var name: String
        var code: String
    }

    private struct Manifest: Decodable {
        var pillow: Bool
        var valid: [Valid]
        var corrupt: [Corrupt]
    }

    let folder: URL
    let pillowInstalled: Bool
    let valid: [Valid]
    let corrupt: [Corrupt]

    func png(_ name: String) throws -> [UInt8] { try readBytes(folder.appendingPathComponent(name + ".png")) }
    func rgba(_ name: String) throws -> [UInt8] { try readBytes(folder.appendingPathComponent(name + ".rgba")) }

    /// Generated on first use; a failure is reported by every test that needs the cases.
    static let shared: Result<GeneratedCases, GenerationError> = {
        do {
            let folder = try makeTemporaryDirectory()
            let script = repositoryRoot.appendingPathComponent("tools/pngcases.py").path
            let result = try runPython([script, folder.path])
            guard result.status == 0 else {
                return .failure(GenerationError(message: "pngcases.py failed (\(result.status)): \(result.stderr)"))
            }
            let data = try Data(contentsOf: folder.appendingPathComponent("manifest.json"))
            let manifest = try JSONDecoder().decode(Manifest.self, from: data)
            return .success(
                GeneratedCases(
                    folder: folder, pillowInstalled: manifest.pillow, valid: manifest.valid,
                    corrupt: manifest.corrupt))
        } catch {
            return .failure(GenerationError(message: "could not generate test PNGs: \(error)"))
        }
    }()

    static func load() throws -> GeneratedCases { try shared.get() }

    struct GenerationError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Whether Pillow can be imported by `python3`; checked once.
let pillowAvailable: Bool = (try? runPython(["-c", "import PIL"]).status == 0) ?? false

/// A small deterministic generator (SplitMix64), so random-looking tests are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Test images: noise with varying alpha, an opaque gradient, and flat blocks like a screen.
enum TestImages {
    static func noise(width: Int, height: Int, seed: UInt64, opaque: Bool = false) -> RGBAImage {
        var generator = SplitMix64(seed: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        for index in pixels.indices {
            pixels[index] = opaque && index % 4 == 3 ? 255 : UInt8.random(in: 0...255, using: &generator)
        }
        return RGBAImage(size: FrameSize(width: width, height: height), pixels: pixels)
    }

    static func gradient(width: Int, height: Int) -> RGBAImage {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let blockColour = UInt8(truncatingIfNeeded: (x / 16 + y / 16) * 37)
                pixels += [UInt8(truncatingIfNeeded: x), UInt8(truncatingIfNeeded: y), blockColour, 255]
            }
        }
        return RGBAImage(size: FrameSize(width: width, height: height), pixels: pixels)
    }
}

/// PNG chunk boundaries, for tests that corrupt one chunk at a time.
struct ChunkLayout {
    struct Chunk {
        var type: String
        var offset: Int
        var length: Int
        var crcOffset: Int { offset + 8 + length }
    }

    var chunks: [Chunk] = []

    init(_ png: [UInt8]) {
        var offset = 8
        while offset + 12 <= png.count {
            let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: png[offset + 4..<offset + 8], as: UTF8.self)
            chunks.append(Chunk(type: type, offset: offset, length: length))
            offset += 12 + length
        }
    }
}
