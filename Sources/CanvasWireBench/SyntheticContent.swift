public import CanvasWireCore

/// Deterministic RGBA8 frames for delta benchmarks: frame `n` depends only on `n`, the kind and the
/// size, so any receiver can rebuild what it should have got and compare. `canvaswire bench
/// --content` publishes them; the codec benchmark (`tools/bench/delta`) measures the codec on them.
///
/// - `screen`: a static desktop with windows, a terminal in which three characters are typed per
///   frame, a scrolling chart and a moving mouse cursor: 2.4 % of 16-pixel tiles (2.9 % of 32-pixel
///   ones) change per frame at 1920x1080.
/// - `video`: full motion; every pixel changes every frame (a drifting texture in red and green, a
///   diagonal gradient in blue that steps by one each frame).
/// - `noise`: random bytes, seeded by the frame number.
///
/// Frames are built from a base image made once, plus the regions that move: a 1080p frame takes
/// 0.19 ms (screen), 0.25 ms (video) and 1.0 ms (noise) to render (`tools/bench/delta`).
public struct SyntheticContent: Sendable {
    /// What the frames show.
    public enum Kind: String, Sendable, CaseIterable {
        case screen, video, noise
    }

    public let kind: Kind
    public let size: FrameSize
    /// The desktop (`screen`) or the texture (`video`); empty for `noise`.
    private let base: [UInt8]

    /// Prepares the content's base image (a desktop or a texture) for frames of `size`.
    public init(kind: Kind, size: FrameSize) {
        self.kind = kind
        self.size = size
        switch kind {
        case .screen: base = Self.desktop(size)
        case .video: base = Self.texture(size)
        case .noise: base = []
        }
    }

    /// Writes frame `n` into `pixels`, `width*height*4` bytes.
    public func render(frame n: Int, into pixels: UnsafeMutableRawBufferPointer) {
        precondition(pixels.count == size.rgbaByteCount, "buffer does not match \(size)")
        switch kind {
        case .screen: renderScreen(n, into: pixels)
        case .video: renderVideo(n, into: pixels)
        case .noise: renderNoise(n, into: pixels)
        }
    }

    // MARK: screen

    /// Layout of the moving parts, scaled from a 1920x1080 design and clipped to smaller frames.
    private var terminal: (x: Int, y: Int, columns: Int, rows: Int) {
        (size.width * 1060 / 1920, size.height * 600 / 1080, 80, 24)
    }
    private var chart: DeltaRectangle {
        DeltaRectangle(x: size.width * 120 / 1920, y: size.height * 700 / 1080, width: 320, height: 160)
    }
    private static let cell = (width: 8, height: 16)
    private static let charactersPerFrame = 3

    private func renderScreen(_ n: Int, into pixels: UnsafeMutableRawBufferPointer) {
        base.withUnsafeBytes { pixels.copyMemory(from: $0) }
        let canvas = Canvas(pixels: pixels, size: size)
        // Terminal: the page of 80x24 cells holding the characters typed so far.
        let (tx, ty, columns, rows) = terminal
        let typed = n * Self.charactersPerFrame
        let pageStart = typed / (columns * rows) * (columns * rows)
        for index in pageStart..<typed {
            let hash = Self.mix(UInt64(index))
            guard hash % 7 != 0 else { continue }  // a space
            let cell = index - pageStart
            let x = tx + 8 + cell % columns * Self.cell.width
            let y = ty + 30 + cell / columns * Self.cell.height
            // A glyph: 5x9 bits of the hash, each bit one pixel.
            for bit in 0..<45 where hash >> UInt64(bit + 8) & 1 == 1 {
                canvas.fill(x: x + 1 + bit % 5, y: y + 3 + bit / 5, width: 1, height: 1, colour: (200, 220, 200))
            }
        }
        // Chart: 320 bars whose heights scroll one step left per frame.
        let area = chart
        canvas.fill(x: area.x, y: area.y, width: area.width, height: area.height, colour: (250, 250, 252))
        for column in 0..<area.width {
            let value = Int(Self.mix(UInt64(column + n)) % UInt64(area.height - 20)) + 10
            canvas.fill(x: area.x + column, y: area.y + area.height - value, width: 1, height: value, colour: (52, 120, 246))
        }
        // Cursor: a 12x19 arrow bouncing off the edges, outlined like a real one. Integer arithmetic
        // only, so a receiver in any language computes the same position.
        let cx = Self.bounce(n * 7 + size.width / 3, within: size.width - 12)
        let cy = Self.bounce(n * 5 + size.height / 2, within: size.height - 19)
        for row in 0..<19 {
            let span = min(row, 11) + 1 - (row > 15 ? row - 15 : 0) * 3
            guard span > 0 else { continue }
            canvas.fill(x: cx, y: cy + row, width: span, height: 1, colour: (0, 0, 0))
            if span > 2 { canvas.fill(x: cx + 1, y: cy + row, width: span - 2, height: 1, colour: (255, 255, 255)) }
        }
    }

    /// `position` folded back and forth into `0...limit` (0 when the limit is not positive).
    private static func bounce(_ position: Int, within limit: Int) -> Int {
        guard limit > 0 else { return 0 }
        let folded = position % (2 * limit)
        return folded <= limit ? folded : 2 * limit - folded
    }

    private static func desktop(_ size: FrameSize) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: size.rgbaByteCount)
        pixels.withUnsafeMutableBytes { raw in
            let canvas = Canvas(pixels: raw, size: size)
            for y in 0..<size.height {  // wallpaper: a vertical gradient
                canvas.fill(x: 0, y: y, width: size.width, height: 1, colour: (30, UInt8(60 + 80 * y / size.height), 110))
            }
            canvas.fill(x: 0, y: 0, width: size.width, height: 28, colour: (40, 44, 52))
            var random = UInt64(1080)
            let windows = [(80, 80, 860, 560), (980, 60, 860, 480), (60, 660, 440, 340), (1040, 570, 680, 440)]
            for (index, (x0, y0, w, h)) in windows.enumerated() {
                let x = x0 * size.width / 1920, y = y0 * size.height / 1080
                canvas.fill(x: x, y: y, width: w, height: h, colour: index == 3 ? (24, 26, 32) : (255, 255, 255))
                canvas.fill(x: x, y: y, width: w, height: 24, colour: (210, 212, 218))
                guard index < 2 else { continue }
                for line in stride(from: y + 40, to: y + h - 20, by: 18) {  // text-like glyph rows
                    var gx = x + 14
                    random = mix(random)
                    let end = x + 300 + Int(random % UInt64(w - 330))
                    while gx < end {
                        random = mix(random)
                        let glyph = 4 + Int(random % 6)
                        canvas.fill(x: gx, y: line + Int(random >> 8 % 4), width: glyph, height: 9, colour: (30, 30, 30))
                        gx += glyph + (random >> 16 % 4 == 0 ? 8 : 2)
                    }
                }
            }
        }
        return pixels
    }

    // MARK: video

    private func renderVideo(_ n: Int, into pixels: UnsafeMutableRawBufferPointer) {
        let width = size.width, height = size.height
        let shift = n * 5 % width
        base.withUnsafeBytes { texture in
            for y in 0..<height {
                let source = (y + 2 * n) % height * width
                let row = y * width
                let step = UInt32(truncatingIfNeeded: n + y)
                // The texture row rotated left by `shift`: two straight runs, so the loops vectorise.
                for (first, last, sourceStart) in [(0, width - shift, shift), (width - shift, width, 0)] {
                    let input = texture.baseAddress! + (source + sourceStart - first) * 4
                    let output = pixels.baseAddress! + row * 4
                    for x in first..<last {
                        // Red and green drift with the texture; blue steps by one a frame, so every pixel changes.
                        let blue = (step &+ UInt32(truncatingIfNeeded: x)) & 0xFF
                        let texel = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: x * 4, as: UInt32.self))
                        output.storeBytes(of: (texel & 0xFF00_FFFF | blue << 16).littleEndian, toByteOffset: x * 4, as: UInt32.self)
                    }
                }
            }
        }
    }

    private static func texture(_ size: FrameSize) -> [UInt8] {
        var pixels = [UInt8](repeating: 255, count: size.rgbaByteCount)
        for y in 0..<size.height {
            for x in 0..<size.width {
                let grain = UInt8(truncatingIfNeeded: mix(UInt64(y * size.width + x)) % 24)
                pixels[(y * size.width + x) * 4] = UInt8(truncatingIfNeeded: x * 255 / max(1, size.width - 1)) &+ grain
                pixels[(y * size.width + x) * 4 + 1] = UInt8(truncatingIfNeeded: (x + y) / 4) &+ grain
            }
        }
        return pixels
    }

    // MARK: noise

    private func renderNoise(_ n: Int, into pixels: UnsafeMutableRawBufferPointer) {
        var state = Self.mix(UInt64(n) &+ 0x6E6F_6973_65)
        var offset = 0
        while offset + 8 <= pixels.count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            pixels.storeBytes(of: state ^ state >> 29, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < pixels.count {
            pixels[offset] = UInt8(truncatingIfNeeded: Self.mix(state &+ UInt64(offset)))
            offset += 1
        }
    }

    /// SplitMix64's finaliser: a well-spread hash of a counter.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ z >> 30) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ z >> 27) &* 0x94D0_49BB_1331_11EB
        return z ^ z >> 31
    }
}

/// Opaque rectangles drawn into RGBA8 memory, clipped to the frame.
private struct Canvas {
    let pixels: UnsafeMutableRawBufferPointer
    let size: FrameSize

    func fill(x: Int, y: Int, width: Int, height: Int, colour: (UInt8, UInt8, UInt8)) {
        let x0 = max(0, x), x1 = min(size.width, x + width)
        let y0 = max(0, y), y1 = min(size.height, y + height)
        guard x0 < x1, y0 < y1 else { return }
        let word = (UInt32(colour.0) | UInt32(colour.1) << 8 | UInt32(colour.2) << 16 | 0xFF00_0000).littleEndian
        for row in y0..<y1 {
            for column in x0..<x1 { pixels.storeBytes(of: word, toByteOffset: (row * size.width + column) * 4, as: UInt32.self) }
        }
    }
}
