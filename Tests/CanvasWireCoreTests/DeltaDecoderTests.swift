import CanvasWireCore
import Testing

@Suite struct DeltaDecoderTests {
    typealias Rect = DeltaReference.Rect

    /// Validates and applies `payload` to `frame` with the codec; returns the new frame or the error.
    static func decode(
        _ payload: [UInt8], to frame: [UInt8], width: Int, height: Int, limits: FrameLimits = .default
    ) -> Result<[UInt8], FrameError> {
        Result { () throws(FrameError) in
            var decoder = try DeltaDecoder(frameSize: FrameSize(width: width, height: height), limits: limits)
            var result = frame
            try payload.withUnsafeBytes { raw in
                Result { () throws(FrameError) in
                    try decoder.validate(raw)
                    result.withUnsafeMutableBytes { decoder.apply(raw, to: $0) }
                }
            }.get()
            return result
        }
    }

    static func expectRefused(_ payload: [UInt8], width: Int, height: Int, saying message: String, code: UInt16 = 1008) {
        let frame = [UInt8](repeating: 0, count: width * height * 4)
        #expect(DeltaReference.apply(payload, to: frame, width: width, height: height) == nil, "the reference accepts it")
        switch decode(payload, to: frame, width: width, height: height) {
        case .success: Issue.record("accepted a payload that should fail with \"\(message)\"")
        case .failure(let error):
            #expect(error.description.contains(message), "\(error)")
            #expect(error.closeCode == code)
        }
    }

    /// A payload with hand-written rectangle headers and `pixels` bytes after each.
    static func payload(count: Int? = nil, _ rects: [Rect], trailing: [UInt8] = []) -> [UInt8] {
        let frame = [UInt8](repeating: 7, count: 70 * 70 * 4)
        var bytes = DeltaReference.encode(rects.map { Rect(x: 0, y: 0, w: $0.w, h: $0.h) }, of: frame, width: 70)
        // Put the wanted origins back (encode read pixels from 0,0 so it never reads outside the frame).
        var at = 4
        for rect in rects {
            bytes[at] = UInt8(rect.x & 0xFF); bytes[at + 1] = UInt8(rect.x >> 8)
            bytes[at + 2] = UInt8(rect.y & 0xFF); bytes[at + 3] = UInt8(rect.y >> 8)
            at += 8 + rect.w * rect.h * 4
        }
        if let count {
            bytes.replaceSubrange(0..<4, with: [UInt8(count & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count >> 16 & 0xFF), UInt8(count >> 24)])
        }
        return bytes + trailing
    }

    @Test(arguments: 0..<40) func appliesRandomRectanglesLikeTheReference(seed: Int) throws {
        var random = Random(seed: UInt64(seed))
        // Sizes include 1xN and Nx1 frames.
        let width = seed % 7 == 0 ? 1 : random.int(in: 1...70)
        let height = seed % 7 == 1 ? 1 : random.int(in: 1...70)
        let old = random.bytes(width * height * 4)
        let new = random.bytes(width * height * 4)
        let rects = DeltaReference.randomRects(width: width, height: height, attempts: random.int(in: 0...30), using: &random)
        let payload = DeltaReference.encode(rects, of: new, width: width)
        let expected = try #require(DeltaReference.apply(payload, to: old, width: width, height: height))
        #expect(try Self.decode(payload, to: old, width: width, height: height).get() == expected)
    }

    @Test(arguments: 0..<20) func theTilesTouchedCoverEveryPixelADeltaCanChange(seed: Int) throws {
        var random = Random(seed: UInt64(500 + seed))
        let width = random.int(in: 1...70)
        let height = random.int(in: 1...70)
        let old = random.bytes(width * height * 4)
        let new = random.bytes(width * height * 4)
        let rects = DeltaReference.randomRects(width: width, height: height, attempts: random.int(in: 0...12), using: &random)
        let payload = DeltaReference.encode(rects, of: new, width: width)
        let applied = try #require(DeltaReference.apply(payload, to: old, width: width, height: height))
        let grid = TileGrid(frameSize: FrameSize(width: width, height: height), tileSize: 8)
        var decoder = try DeltaDecoder(frameSize: grid.frameSize)
        let touched = try payload.withUnsafeBytes { bytes in
            _ = try decoder.validate(bytes)
            return DeltaDecoder.tilesTouched(by: bytes, in: grid)
        }
        // Every tile a rectangle reaches, and no other: the reference's changed tiles (between random
        // frames, every touched tile changed) are exactly these.
        #expect(Set(touched) == DeltaReference.changedTiles(old, applied, width: width, height: height, tileSize: 8))
    }

    @Test func anEmptyDeltaIsValidAndChangesNothing() throws {
        let frame: [UInt8] = Array(0..<16)
        #expect(try Self.decode([0, 0, 0, 0], to: frame, width: 2, height: 2).get() == frame)
    }

    @Test func touchingRectanglesDoNotOverlap() throws {
        // Four rectangles meeting at (3, 2), and one sharing a right edge with the frame.
        let rects = [Rect(x: 0, y: 0, w: 3, h: 2), Rect(x: 3, y: 0, w: 2, h: 2), Rect(x: 0, y: 2, w: 3, h: 1),
                     Rect(x: 3, y: 2, w: 2, h: 1), Rect(x: 5, y: 0, w: 65, h: 3)]
        let frame = [UInt8](repeating: 1, count: 70 * 3 * 4)
        #expect(throws: Never.self) { try Self.decode(Self.payload(rects), to: frame, width: 70, height: 3).get() }
    }

    @Test func aFloodOfOnePixelRectanglesCoveringEveryPixelOnceIsValid() throws {
        let rects = (0..<16).flatMap { y in (0..<16).map { Rect(x: $0, y: y, w: 1, h: 1) } }
        var random = Random(seed: 9)
        let new = random.bytes(16 * 16 * 4)
        let payload = DeltaReference.encode(rects, of: new, width: 16)
        #expect(try Self.decode(payload, to: [UInt8](repeating: 0, count: 16 * 16 * 4), width: 16, height: 16).get() == new)
        // One more pixel anywhere overlaps.
        Self.expectRefused(DeltaReference.encode(rects + [Rect(x: 15, y: 15, w: 1, h: 1)], of: new, width: 16),
                           width: 16, height: 16, saying: "delta rectangle 256 (x 15, y 15, 1x1) overlaps an earlier rectangle at pixel (15, 15)")
    }

    @Test func overlapIsRefusedNamingTheRectangleAndThePixel() {
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 4, h: 4), Rect(x: 3, y: 3, w: 2, h: 2)]), width: 8, height: 8,
                           saying: "delta rectangle 1 (x 3, y 3, 2x2) overlaps an earlier rectangle at pixel (3, 3)")
        // Fully inside another.
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 8, h: 8), Rect(x: 2, y: 5, w: 1, h: 1)]), width: 8, height: 8,
                           saying: "delta rectangle 1 (x 2, y 5, 1x1) overlaps")
        // Containing an earlier one, found where it starts to overlap.
        Self.expectRefused(Self.payload([Rect(x: 5, y: 6, w: 1, h: 1), Rect(x: 0, y: 0, w: 8, h: 8)]), width: 8, height: 8,
                           saying: "at pixel (5, 6)")
        // Across a 64-pixel word boundary of the coverage bitmap.
        Self.expectRefused(Self.payload([Rect(x: 60, y: 0, w: 10, h: 1), Rect(x: 69, y: 0, w: 1, h: 2)]), width: 70, height: 2,
                           saying: "at pixel (69, 0)")
    }

    @Test func aRefusedDeltaLeavesTheDecoderReadyForTheNextOne() throws {
        var decoder = try DeltaDecoder(frameSize: FrameSize(width: 70, height: 8))
        let overlapping = Self.payload([Rect(x: 0, y: 0, w: 66, h: 4), Rect(x: 1, y: 3, w: 68, h: 2)])
        #expect(throws: FrameError.self) { try overlapping.withUnsafeBytes { try decoder.validate($0) } }
        // The same area again: nothing of the refused delta may still count as covered.
        let valid = Self.payload([Rect(x: 1, y: 3, w: 68, h: 2), Rect(x: 0, y: 0, w: 66, h: 3)])
        #expect(try valid.withUnsafeBytes { try decoder.validate($0) } == 2)
        #expect(try valid.withUnsafeBytes { try decoder.validate($0) } == 2)
    }

    @Test func rectanglesPastAnEdgeByOneAreRefused() {
        Self.expectRefused(Self.payload([Rect(x: 1900, y: 0, w: 21, h: 1)]), width: 1920, height: 2,
                           saying: "delta rectangle 0 (x 1900, w 21) extends past the frame's width 1920")
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 1, h: 1), Rect(x: 2, y: 1, w: 1, h: 3)]), width: 5, height: 3,
                           saying: "delta rectangle 1 (y 1, h 3) extends past the frame's height 3")
        // Exactly at the edge is fine.
        let frame = [UInt8](repeating: 0, count: 5 * 3 * 4)
        #expect(throws: Never.self) { try Self.decode(Self.payload([Rect(x: 4, y: 0, w: 1, h: 3)]), to: frame, width: 5, height: 3).get() }
    }

    @Test func emptyRectanglesAreRefused() {
        // Padding keeps the count plausible for the bytes (a rectangle takes at least 12), so the
        // rectangle itself is what gets refused.
        let padding = [UInt8](repeating: 0, count: 12)
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 0, h: 2)], trailing: padding), width: 4, height: 4,
                           saying: "delta rectangle 0 is 0x2")
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 1, h: 1), Rect(x: 1, y: 1, w: 3, h: 0)], trailing: padding), width: 4, height: 4,
                           saying: "delta rectangle 1 is 3x0; a rectangle is at least 1x1")
    }

    @Test func shortPayloadsAreRefused() {
        let whole = Self.payload([Rect(x: 0, y: 0, w: 2, h: 2), Rect(x: 2, y: 2, w: 2, h: 2)])
        Self.expectRefused(Array(whole.dropLast()), width: 4, height: 4, saying: "delta rectangle 1 needs 24 more bytes")
        Self.expectRefused(Array(whole.prefix(4 + 24 + 5)), width: 4, height: 4, saying: "delta rectangle 1 needs 8 more bytes")
        Self.expectRefused([1, 0, 0], width: 4, height: 4, saying: "delta payload is 3 bytes; it needs at least 4")
        Self.expectRefused([], width: 4, height: 4, saying: "delta payload is 0 bytes")
    }

    @Test func trailingBytesAreRefused() {
        Self.expectRefused(Self.payload([Rect(x: 0, y: 0, w: 2, h: 2)], trailing: [0]), width: 4, height: 4,
                           saying: "delta payload has 1 bytes after its 1 rectangles")
        Self.expectRefused([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], width: 4, height: 4, saying: "has 8 bytes after its 0 rectangles")
    }

    @Test func aCountTheBytesCannotHoldIsRefusedBeforeAnyRectangleIsRead() {
        Self.expectRefused(Self.payload(count: 3, [Rect(x: 0, y: 0, w: 1, h: 1), Rect(x: 1, y: 0, w: 1, h: 1)]), width: 4, height: 4,
                           saying: "declares 3 rectangles, but its 28 bytes hold at most 2")
        Self.expectRefused([0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 100), width: 4, height: 4,
                           saying: "declares 4294967295 rectangles")
        // A count the bytes could hold but that the rectangles do not fill is cut short instead.
        Self.expectRefused(Self.payload(count: 2, [Rect(x: 0, y: 0, w: 4, h: 2)]), width: 4, height: 4,
                           saying: "delta rectangle 1 needs 8 more bytes (header and pixels) but only 0 remain")
    }

    @Test func aPayloadOverTheLimitIsRefusedAsTooBig() {
        let limits = FrameLimits(maxPayloadBytes: 64)
        let payload = Self.payload([Rect(x: 0, y: 0, w: 4, h: 4)])
        guard case .failure(let error) = Self.decode(payload, to: [UInt8](repeating: 0, count: 64), width: 4, height: 4, limits: limits) else {
            Issue.record("accepted a payload over the limit")
            return
        }
        #expect(error.closeCode == 1009)
        #expect(error.description.contains("payload of 76 bytes exceeds the limit of 64 bytes"))
    }

    @Test func framesAtTheSixteenBitEdgeWork() throws {
        let limits = FrameLimits(maxWidth: 70000, maxHeight: 70000)
        for (width, height) in [(65535, 2), (2, 65535)] {
            var random = Random(seed: UInt64(width))
            let old = [UInt8](repeating: 0, count: width * height * 4)
            let new = random.bytes(width * height * 4)
            let edge = width == 65535 ? Rect(x: 65534, y: 0, w: 1, h: 2) : Rect(x: 0, y: 65534, w: 2, h: 1)
            let rest = width == 65535 ? Rect(x: 0, y: 0, w: 65534, h: 2) : Rect(x: 0, y: 0, w: 2, h: 65534)
            let payload = DeltaReference.encode([edge, rest], of: new, width: width)
            #expect(try Self.decode(payload, to: old, width: width, height: height, limits: limits).get() == new)
        }
        // A rectangle the whole width of a 65535-pixel frame.
        let full = DeltaReference.encode([Rect(x: 0, y: 0, w: 65535, h: 1)], of: [UInt8](repeating: 3, count: 65535 * 4), width: 65535)
        #expect(try Self.decode(full, to: [UInt8](repeating: 0, count: 65535 * 4), width: 65535, height: 1, limits: limits).get()
                == [UInt8](repeating: 3, count: 65535 * 4))
    }

    @Test func framesWiderOrTallerThanSixteenBitsCannotBeDeltas() {
        let limits = FrameLimits(maxWidth: 70000, maxHeight: 70000)
        for size in [FrameSize(width: 65536, height: 1), FrameSize(width: 1, height: 65536)] {
            let error = #expect(throws: FrameError.self) { try DeltaDecoder(frameSize: size, limits: limits) }
            #expect(error?.closeCode == 1009)
            #expect(error?.description == "a \(size) frame cannot be sent as a delta: rectangles address at most 65535 pixels a side; send full frames")
        }
        #expect(throws: FrameError.self) { try DeltaDecoder(frameSize: FrameSize(width: 16385, height: 1)) }
    }
}
