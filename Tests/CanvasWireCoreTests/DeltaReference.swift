/// An independent model of the delta format (pixel format 3) for the tests: pixel by pixel, bytes
/// assembled by shifting, overlap found with a set of covered pixels. It shares no code with
/// CanvasWireCore, so a bug in the codec cannot hide in a helper both use.
enum DeltaReference {
    struct Rect: Hashable {
        var x, y, w, h: Int
    }

    /// Applies `payload` to `frame` (width*height*4 bytes), or returns nil when the payload breaks any
    /// rule of the format.
    static func apply(_ payload: [UInt8], to frame: [UInt8], width: Int, height: Int) -> [UInt8]? {
        func u16(_ at: Int) -> Int { Int(payload[at]) | Int(payload[at + 1]) << 8 }
        guard payload.count >= 4 else { return nil }
        let count = Int(payload[0]) | Int(payload[1]) << 8 | Int(payload[2]) << 16 | Int(payload[3]) << 24
        var result = frame
        var covered: [Int: Int] = [:]  // pixel index -> rectangle that covers it
        var at = 4
        for index in 0..<count {
            guard at + 8 <= payload.count else { return nil }
            let x = u16(at), y = u16(at + 2), w = u16(at + 4), h = u16(at + 6)
            at += 8
            guard w >= 1, h >= 1, x + w <= width, y + h <= height, at + w * h * 4 <= payload.count else { return nil }
            for row in 0..<h {
                for column in 0..<w {
                    let pixel = (y + row) * width + (x + column)
                    if covered[pixel] != nil { return nil }
                    covered[pixel] = index
                    for channel in 0..<4 {
                        result[pixel * 4 + channel] = payload[at]
                        at += 1
                    }
                }
            }
        }
        return at == payload.count ? result : nil
    }

    /// The payload that carries `rects` of `frame`'s pixels.
    static func encode(_ rects: [Rect], of frame: [UInt8], width: Int) -> [UInt8] {
        func put16(_ value: Int, _ out: inout [UInt8]) { out += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        var out = [UInt8(rects.count & 0xFF), UInt8(rects.count >> 8 & 0xFF), UInt8(rects.count >> 16 & 0xFF), UInt8(rects.count >> 24)]
        for rect in rects {
            put16(rect.x, &out)
            put16(rect.y, &out)
            put16(rect.w, &out)
            put16(rect.h, &out)
            for row in rect.y..<rect.y + rect.h {
                for column in rect.x..<rect.x + rect.w {
                    for channel in 0..<4 { out.append(frame[(row * width + column) * 4 + channel]) }
                }
            }
        }
        return out
    }

    /// Indices (row by row) of the tiles in which any byte of any pixel differs.
    static func changedTiles(_ a: [UInt8], _ b: [UInt8], width: Int, height: Int, tileSize: Int) -> Set<Int> {
        let columns = (width + tileSize - 1) / tileSize
        var tiles = Set<Int>()
        for y in 0..<height {
            for x in 0..<width where a[(y * width + x) * 4..<(y * width + x) * 4 + 4] != b[(y * width + x) * 4..<(y * width + x) * 4 + 4] {
                tiles.insert(y / tileSize * columns + x / tileSize)
            }
        }
        return tiles
    }

    /// Random rectangles inside a frame, no two sharing a pixel.
    static func randomRects(width: Int, height: Int, attempts: Int, using random: inout Random) -> [Rect] {
        var covered = Set<Int>()
        var rects: [Rect] = []
        for _ in 0..<attempts {
            let w = random.int(in: 1...max(1, width / 2 + 1)), h = random.int(in: 1...max(1, height / 2 + 1))
            guard w <= width, h <= height else { continue }
            let rect = Rect(x: random.int(in: 0...width - w), y: random.int(in: 0...height - h), w: w, h: h)
            let pixels = (rect.y..<rect.y + h).flatMap { row in (rect.x..<rect.x + w).map { row * width + $0 } }
            guard covered.isDisjoint(with: pixels) else { continue }
            covered.formUnion(pixels)
            rects.append(rect)
        }
        return rects
    }
}

/// SplitMix64: a small deterministic generator, so a failing case can be replayed from its seed.
struct Random {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
