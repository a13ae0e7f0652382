import CanvasWireCore

/// Draws the demo stream's picture: drifting colour bars, a sweeping bar and the frame number in
/// large digits, so both motion and dropped frames are visible at a glance.
enum TestPattern {
    private static let bars: [(UInt8, UInt8, UInt8)] = [
        (235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235), (235, 16, 16), (16, 16, 235),
    ]

    static func render(into pixels: UnsafeMutableRawBufferPointer, size: FrameSize, frame: UInt64) {
        let width = size.width, height = size.height
        let shift = Int(frame % UInt64(width))
        let sweep = Int(frame * 4 % UInt64(width))
        let out = pixels.bindMemory(to: UInt8.self)
        for y in 0..<height {
            let row = y * width * 4
            let shade = UInt8(truncatingIfNeeded: y * 255 / max(1, height - 1))
            for x in 0..<width {
                let bar = bars[((x + shift) % width) * bars.count / width]
                let offset = row + x * 4
                if abs(x - sweep) < 3 {
                    out[offset] = 255; out[offset + 1] = 255; out[offset + 2] = 255
                } else if y >= height * 3 / 4 {
                    out[offset] = shade; out[offset + 1] = UInt8(truncatingIfNeeded: x &+ Int(frame)); out[offset + 2] = 255 &- shade
                } else {
                    out[offset] = bar.0; out[offset + 1] = bar.1; out[offset + 2] = bar.2
                }
                out[offset + 3] = 255
            }
        }
        drawNumber(frame, into: out, size: size)
    }

    /// 3x5 digit glyphs, one row per 3 bits.
    private static let glyphs: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    private static func drawNumber(_ number: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, size: FrameSize) {
        let digits = Array(String(number)).compactMap { $0.wholeNumberValue }
        let scale = max(2, size.height / 40)
        let originX = scale * 2, originY = scale * 2
        for (index, digit) in digits.enumerated() {
            for row in 0..<5 {
                for column in 0..<3 where glyphs[digit][row] & (4 >> column) != 0 {
                    let left = originX + (index * 4 + column) * scale, top = originY + row * scale
                    for y in top..<min(top + scale, size.height) {
                        for x in left..<min(left + scale, size.width) {
                            let offset = (y * size.width + x) * 4
                            out[offset] = 0; out[offset + 1] = 0; out[offset + 2] = 0
                        }
                    }
                }
            }
        }
    }
}
