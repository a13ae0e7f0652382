import CanvasWireBench
import CanvasWireCore

// The delta codec on synthetic content, single thread:
//
//   canvaswire-codec-bench delta [--runs N] [--size WxH] [--pairs N] [--tile-sizes 16,32,64,128]
//
// For each content (screen, video, noise) it renders pairs+1 consecutive frames (17 by default, 141 MB
// at 1080p, more than the caches, so every comparison reads from memory as a relay's would), then for
// each tile size times the changed-tile finder over every consecutive pair, and, without and with
// vertical merging, the layout plus payload write (encode) and the receiver's validate plus apply.
// Each decoded delta is checked to turn the older frame into the newer one before anything is timed.
// One tab-separated line per content, tile size and merge setting; times are ms per frame, the median
// of the runs with min-max, each run a batch of passes lasting at least 0.3 s.
enum DeltaBenchmark {
    static func run(arguments: [String]) {
        var runs = 5
        var size = FrameSize(width: 1920, height: 1080)
        var pairs = 16
        var tileSizes = [16, 32, 64, 128]
        var arguments = arguments[...]
        while let argument = arguments.popFirst() {
            let value = arguments.popFirst()
            switch argument {
            case "--runs": runs = value.flatMap(Int.init) ?? 0
            case "--pairs": pairs = value.flatMap(Int.init) ?? 0
            case "--size": size = value.flatMap { FrameSize(parsing: $0) } ?? FrameSize(width: 0, height: 0)
            case "--tile-sizes": tileSizes = value.map { $0.split(separator: ",").compactMap { Int($0) } } ?? []
            default: fail("delta: unknown option \(argument)")
            }
        }
        guard runs >= 1, pairs >= 1, size.width >= 1, size.height >= 1, !tileSizes.isEmpty, tileSizes.allSatisfy({ $0 >= 1 }) else {
            fail("usage: canvaswire-codec-bench delta [--runs N] [--size WxH] [--pairs N] [--tile-sizes 16,32,64,128]")
        }
        print("# \(size), \(pairs) frame pairs per pass, \(runs) runs; full frame \(size.rgbaByteCount) bytes")
        print("# content\ttile\tmerge\tfind-ms\tchanged-tiles-%\trects/frame\tbytes/frame\tof-full-%\tencode-ms\tvalidate+apply-ms")
        for kind in SyntheticContent.Kind.allCases {
            measure(SyntheticContent(kind: kind, size: size), runs: runs, pairs: pairs, tileSizes: tileSizes)
        }
        measureFlood(size: size, runs: runs)
    }

    /// The receiver's worst case: a delta of one 1x1 rectangle per pixel, the most rectangles a valid
    /// payload can hold (12 bytes a pixel), validated and applied.
    private static func measureFlood(size: FrameSize, runs: Int) {
        let rectangles = (0..<size.height).flatMap { y in (0..<size.width).map { DeltaRectangle(x: $0, y: y, width: 1, height: 1) } }
        let layout = try! DeltaLayout(rectangles: rectangles, frameSize: size)
        var frame = [UInt8](repeating: 0, count: size.rgbaByteCount)
        var payload = [UInt8](repeating: 0, count: layout.encodedLength)
        frame.withUnsafeBytes { source in payload.withUnsafeMutableBytes { layout.write(from: source, into: $0) } }
        var decoder = try! DeltaDecoder(frameSize: size)
        let validate = timePerFrame(runs: runs, frames: 1) { _ = payload.withUnsafeBytes { try! decoder.validate($0) } }
        let apply = timePerFrame(runs: runs, frames: 1) {
            payload.withUnsafeBytes { raw in frame.withUnsafeMutableBytes { decoder.apply(raw, to: $0) } }
        }
        print("# 1x1 flood: \(rectangles.count) rectangles, \(payload.count) bytes: validate \(format(validate)) ms, apply \(format(apply)) ms")
    }

    private static func measure(_ content: SyntheticContent, runs: Int, pairs: Int, tileSizes: [Int]) {
        let size = content.size
        var frames = (0...pairs).map { _ in [UInt8](repeating: 0, count: size.rgbaByteCount) }
        for index in frames.indices { frames[index].withUnsafeMutableBytes { content.render(frame: index, into: $0) } }
        var scratch = [UInt8](repeating: 0, count: size.rgbaByteCount)
        let render = timePerFrame(runs: runs, frames: pairs) {
            for index in 0..<pairs { scratch.withUnsafeMutableBytes { content.render(frame: index, into: $0) } }
        }
        print("# \(content.kind): render \(format(render)) ms/frame")

        for tileSize in tileSizes {
            let grid = TileGrid(frameSize: size, tileSize: tileSize)
            var tiles = (0..<pairs).map { _ in TileSet(grid: grid) }
            let find = timePerFrame(runs: runs, frames: pairs) {
                for index in 0..<pairs {
                    tiles[index].removeAll()
                    frames[index].withUnsafeBytes { old in
                        frames[index + 1].withUnsafeBytes { new in grid.insertChangedTiles(from: old, to: new, into: &tiles[index]) }
                    }
                }
            }
            let changed = Double(tiles.reduce(0) { $0 + $1.count }) / Double(pairs * grid.tileCount) * 100
            for merging in [false, true] {
                let layouts = tiles.map { try! DeltaLayout(tiles: $0, grid: grid, mergingVertically: merging) }
                var payloads = layouts.map { [UInt8](repeating: 0, count: $0.encodedLength) }
                let encode = timePerFrame(runs: runs, frames: pairs) {
                    for index in 0..<pairs {
                        let layout = try! DeltaLayout(tiles: tiles[index], grid: grid, mergingVertically: merging)
                        frames[index + 1].withUnsafeBytes { new in payloads[index].withUnsafeMutableBytes { layout.write(from: new, into: $0) } }
                    }
                }
                var decoder = try! DeltaDecoder(frameSize: size)
                for index in 0..<pairs {
                    var frame = frames[index]
                    payloads[index].withUnsafeBytes { payload in
                        _ = try! decoder.validate(payload)
                        frame.withUnsafeMutableBytes { decoder.apply(payload, to: $0) }
                    }
                    precondition(frame == frames[index + 1], "\(content.kind) pair \(index): the delta does not rebuild the frame")
                }
                let decode = timePerFrame(runs: runs, frames: pairs) {
                    for index in 0..<pairs {
                        payloads[index].withUnsafeBytes { payload in
                            _ = try! decoder.validate(payload)
                            scratch.withUnsafeMutableBytes { decoder.apply(payload, to: $0) }
                        }
                    }
                }
                let rectangles = Double(layouts.reduce(0) { $0 + $1.rectangles.count }) / Double(pairs)
                let bytes = Double(layouts.reduce(0) { $0 + $1.encodedLength }) / Double(pairs)
                let columns: [String] = [
                    "\(content.kind)", "\(tileSize)", merging ? "vertical" : "rows",
                    format(find), format(changed), format(rectangles), "\(Int(bytes.rounded()))",
                    format(bytes / Double(size.rgbaByteCount) * 100), format(encode), format(decode),
                ]
                print(columns.joined(separator: "\t"))
            }
        }
    }

    /// Milliseconds per frame for each run of `body`, which handles `frames` frames a call.
    private static func timePerFrame(runs: Int, frames: Int, _ body: () -> Void) -> [Double] {
        let clock = ContinuousClock()
        body()  // warm-up
        return (0..<runs).map { _ in
            var iterations = 0
            let start = clock.now
            var elapsed = Duration.zero
            repeat {
                body()
                iterations += 1
                elapsed = clock.now - start
            } while elapsed < .milliseconds(300)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            return seconds * 1000 / Double(iterations * frames)
        }
    }

    /// "median (min-max)" of several runs, or the value itself, with 3 significant decimals.
    private static func format(_ runs: [Double]) -> String {
        let sorted = runs.sorted()
        return "\(format(sorted[sorted.count / 2])) (\(format(sorted.first!))-\(format(sorted.last!)))"
    }

    private static func format(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
