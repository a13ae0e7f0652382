#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Validates RGBA8 delta payloads (pixel format 3) for one frame size and applies them to the frame a
/// receiver holds.
///
/// A delta payload is `u32 rectCount`, then for each rectangle `u16 x, y, w, h` and `w*h*4` bytes of
/// RGBA, rows top first, all little-endian. Rectangles lie inside the frame, are at least 1x1 and do
/// not overlap; the payload ends exactly after the last one. Validation reads only the payload and a
/// coverage bitmap of the frame (width*height/8 bytes, allocated on first use and kept for the next
/// delta), so a peer's choice of rectangle count never decides what is allocated, and it runs in time
/// linear in the payload. Both work on raw memory, so a server can run them on its receive buffers
/// without copying.
public struct DeltaDecoder: Sendable {
    /// The full frame's size, which every delta for this decoder describes.
    public let frameSize: FrameSize
    private let limits: FrameLimits
    private var coverage: CoverageBitmap?

    /// Creates a decoder for deltas against frames of `frameSize`.
    ///
    /// - Parameters:
    ///   - frameSize: The full frame's width and height, from the frame header.
    ///   - limits: The reader's limits; the frame size and every payload are checked against them.
    /// - Throws: ``FrameError`` (1009) when the size is over the limits or wider or taller than 65535,
    ///   which a delta cannot address; (1008) for a zero width or height.
    public init(frameSize: FrameSize, limits: FrameLimits = .default) throws(FrameError) {
        try limits.check(width: frameSize.width, height: frameSize.height)
        try DeltaRectangle.checkAddressable(frameSize)
        self.frameSize = frameSize
        self.limits = limits
    }

    /// Checks a complete delta payload: rectangle count, each rectangle's size and bounds, that no two
    /// rectangles overlap, and that the payload is exactly as long as its rectangles.
    ///
    /// - Parameter payload: The bytes after the frame header.
    /// - Returns: The number of rectangles.
    /// - Throws: ``FrameError`` naming the first problem (and the rectangle's index): 1009 when the
    ///   payload is over the limit, 1008 for every malformed payload.
    @discardableResult
    public mutating func validate(_ payload: UnsafeRawBufferPointer) throws(FrameError) -> Int {
        guard payload.count <= limits.maxPayloadBytes else {
            throw .payloadTooLarge(bytes: payload.count, limit: limits.maxPayloadBytes)
        }
        guard payload.count >= 4 else { throw .deltaCountTruncated(available: payload.count) }
        let count = Int(UInt32(littleEndian: payload.loadUnaligned(as: UInt32.self)))
        // Each rectangle takes at least its header and one pixel: refuse a count the bytes cannot hold
        // before walking anything.
        guard count <= (payload.count - 4) / (DeltaRectangle.headerLength + 4) else {
            throw .deltaCountExceedsBytes(count: count, payloadBytes: payload.count)
        }
        // Taken out of self so that marking it does not copy the bitmap.
        var coverage = self.coverage.take() ?? CoverageBitmap(frameSize: frameSize)
        var marked = 0
        defer {
            Self.unmark(marked, of: payload, in: &coverage)
            self.coverage = coverage
        }
        var offset = 4
        for index in 0..<count {
            guard payload.count - offset >= DeltaRectangle.headerLength else {
                throw .deltaRectangleTruncated(index: index, needed: DeltaRectangle.headerLength, available: payload.count - offset)
            }
            let rectangle = DeltaRectangle.read(from: payload, at: offset)
            try rectangle.check(index: index, in: frameSize)
            guard payload.count - offset >= rectangle.encodedLength else {
                throw .deltaRectangleTruncated(index: index, needed: rectangle.encodedLength, available: payload.count - offset)
            }
            if let pixel = coverage.mark(rectangle) {
                throw .deltaRectangleOverlap(index: index, rectangle: rectangle, pixelX: pixel.x, pixelY: pixel.y)
            }
            marked += 1
            offset += rectangle.encodedLength
        }
        guard offset == payload.count else { throw .deltaTrailingBytes(count: payload.count - offset, rectangles: count) }
        return count
    }

    /// Copies a validated delta's rectangles over `frame`, row by row.
    ///
    /// - Parameters:
    ///   - payload: A payload that ``validate(_:)`` accepted for this frame size.
    ///   - frame: The RGBA8 frame the receiver holds, `width*height*4` bytes; afterwards it is the new frame.
    /// - Precondition: Each rectangle lies inside the frame and inside the payload. These are checked
    ///   again (cheaply, per rectangle) so that a payload that skipped validation traps instead of
    ///   writing outside the frame; overlap is not checked again.
    public func apply(_ payload: UnsafeRawBufferPointer, to frame: UnsafeMutableRawBufferPointer) {
        precondition(frame.count == frameSize.rgbaByteCount, "frame buffer does not match \(frameSize)")
        precondition(payload.count >= 4, "delta payload was not validated")
        let count = Int(UInt32(littleEndian: payload.loadUnaligned(as: UInt32.self)))
        let stride = frameSize.width * 4
        var offset = 4
        for _ in 0..<count {
            precondition(payload.count - offset >= DeltaRectangle.headerLength, "delta payload was not validated")
            let rectangle = DeltaRectangle.read(from: payload, at: offset)
            precondition(
                rectangle.x + rectangle.width <= frameSize.width && rectangle.y + rectangle.height <= frameSize.height
                    && payload.count - offset >= rectangle.encodedLength,
                "delta payload was not validated"
            )
            let rowBytes = rectangle.width * 4
            var source = offset + DeltaRectangle.headerLength
            for row in rectangle.y..<rectangle.y + rectangle.height {
                memcpy(frame.baseAddress! + row * stride + rectangle.x * 4, payload.baseAddress! + source, rowBytes)
                source += rowBytes
            }
            offset += rectangle.encodedLength
        }
    }

    /// The tiles of `grid` that a validated delta's rectangles touch: pixels outside them are the
    /// base frame's, so no other tile can have changed.
    ///
    /// - Parameters:
    ///   - payload: A payload that ``validate(_:)`` accepted for the grid's frame size.
    ///   - grid: A grid over frames of that size.
    public static func tilesTouched(by payload: UnsafeRawBufferPointer, in grid: TileGrid) -> TileSet {
        precondition(payload.count >= 4, "delta payload was not validated")
        var tiles = TileSet(grid: grid)
        var offset = 4
        for _ in 0..<Int(UInt32(littleEndian: payload.loadUnaligned(as: UInt32.self))) {
            precondition(payload.count - offset >= DeltaRectangle.headerLength, "delta payload was not validated")
            let rectangle = DeltaRectangle.read(from: payload, at: offset)
            grid.insertTiles(touching: rectangle, into: &tiles)
            offset += rectangle.encodedLength
        }
        return tiles
    }

    /// Clears the coverage of the first `count` rectangles of a payload whose headers were checked.
    private static func unmark(_ count: Int, of payload: UnsafeRawBufferPointer, in coverage: inout CoverageBitmap) {
        var offset = 4
        for _ in 0..<count {
            let rectangle = DeltaRectangle.read(from: payload, at: offset)
            coverage.unmark(rectangle)
            offset += rectangle.encodedLength
        }
    }
}
