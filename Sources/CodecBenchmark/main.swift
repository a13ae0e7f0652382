// In-process codec benchmarks, single thread: the PNG codec (below) and, with `delta` first, the
// RGBA8 delta codec on synthetic content (DeltaBenchmark.swift).
//
//   canvaswire-codec-bench [--runs N] [--sweep] FILE.rgba:WxH ...
//   canvaswire-codec-bench delta [--runs N] [--size WxH] [--pairs N] [--tile-sizes 16,32,64,128]
//
// PNG: decode and encode whole frames, MB/s of raw RGBA.
//
// Each input is raw RGBA8 with its size. For every input it encodes with the default configuration
// (and with --sweep, a grid of levels, filters and strategies), decodes the default output and a
// level-6 adaptive file (and FILE.png when it exists next to FILE.rgba), and prints one tab-separated line per measurement:
//   image  operation  settings  median-MB/s  min-MB/s  max-MB/s  png-bytes
// Each run times a batch of iterations lasting at least 0.3 s; the median is over the runs.
import CanvasWireCore
import CanvasWirePNG

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Input {
    var name: String
    var image: RGBAImage
    /// A PNG of the same pixels written by another encoder, to decode what others write too.
    var png: [UInt8]?
}

func fail(_ message: String) -> Never {
    let line = "canvaswire-codec-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fail("\(path): cannot open") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

/// Times `body` over repeated batches and returns MB/s (10^6 bytes of RGBA a second) per run.
func measure(runs: Int, rgbaBytes: Int, _ body: () throws -> Void) rethrows -> [Double] {
    let clock = ContinuousClock()
    try body()  // warm-up: page in buffers, load code
    var rates: [Double] = []
    for _ in 0..<runs {
        var iterations = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            try body()
            iterations += 1
            elapsed = clock.now - start
        } while elapsed < .milliseconds(300)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        rates.append(Double(rgbaBytes * iterations) / seconds / 1e6)
    }
    return rates
}

func report(_ name: String, _ operation: String, _ settings: String, _ rates: [Double], bytes: Int) {
    let sorted = rates.sorted()
    let median = sorted[sorted.count / 2]
    func f(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
    print("\(name)\t\(operation)\t\(settings)\t\(f(median))\t\(f(sorted.first!))\t\(f(sorted.last!))\t\(bytes)")
}

func describe(_ c: PNGEncoder.Configuration) -> String {
    "level=\(c.level) filter=\(c.filter) strategy=\(c.strategy)\(c.writesOpaqueImagesAsRGB ? "" : " keep-alpha")"
}

if CommandLine.arguments.dropFirst().first == "delta" {
    DeltaBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

var runs = 5
var sweep = false
var inputs: [Input] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--runs":
        guard let value = arguments.popFirst().flatMap(Int.init), value >= 1 else { fail("--runs needs a number") }
        runs = value
    case "--sweep":
        sweep = true
    default:
        guard let colon = argument.lastIndex(of: ":"),
            let size = FrameSize(parsing: argument[argument.index(after: colon)...])
        else { fail("expected FILE.rgba:WxH, got \(argument)") }
        let path = String(argument[..<colon])
        let pixels = readFile(path)
        guard pixels.count == size.rgbaByteCount else {
            fail("\(path) is \(pixels.count) bytes, but \(size) needs \(size.rgbaByteCount)")
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let pngPath = path.hasSuffix(".rgba") ? String(path.dropLast(5)) + ".png" : path + ".png"
        let png = access(pngPath, R_OK) == 0 ? readFile(pngPath) : nil
        inputs.append(Input(name: name, image: RGBAImage(size: size, pixels: pixels), png: png))
    }
}
if inputs.isEmpty { fail("usage: canvaswire-codec-bench [--runs N] [--sweep] FILE.rgba:WxH ...") }

var configurations = [PNGEncoder.Configuration()]
if sweep {
    for filter in [PNGEncoder.Filter.none, .sub, .up, .paeth, .adaptive] {
        for strategy in [PNGEncoder.Strategy.auto, .rle, .filtered] {
            configurations.append(.init(level: 1, filter: filter, strategy: strategy))
        }
    }
    configurations.append(.init(level: 1, filter: .none, strategy: .rle, writesOpaqueImagesAsRGB: false))
    configurations.append(.init(level: 1, filter: .sub, strategy: .rle, writesOpaqueImagesAsRGB: false))
    configurations.append(.init(level: 2, filter: .sub, strategy: .auto))
    configurations.append(.init(level: 6, filter: .adaptive, strategy: .auto))
}

let decoder = PNGDecoder()
do {
    for input in inputs {
        let rgbaBytes = input.image.size.rgbaByteCount
        var defaultPNG: [UInt8] = []
        for (index, configuration) in configurations.enumerated() {
            let encoder = PNGEncoder(configuration: configuration)
            var png: [UInt8] = []
            let rates = try measure(runs: runs, rgbaBytes: rgbaBytes) { png = try encoder.encode(input.image) }
            if index == 0 { defaultPNG = png }
            report(input.name, "encode", (index == 0 ? "default " : "") + describe(configuration), rates, bytes: png.count)
        }
        let archival = try PNGEncoder(configuration: .init(level: 6, filter: .adaptive, strategy: .auto))
            .encode(input.image)
        var files = [("our default output", defaultPNG), ("our level-6 adaptive output", archival)]
        if let png = input.png { files.append(("the .png file beside the input", png)) }
        for (label, png) in files {
            let rates = try measure(runs: runs, rgbaBytes: rgbaBytes) {
                let image = try decoder.decode(png)
                precondition(image == input.image, "decode mismatch")
            }
            report(input.name, "decode", label, rates, bytes: png.count)
        }
    }
} catch {
    fail("\(error)")
}
