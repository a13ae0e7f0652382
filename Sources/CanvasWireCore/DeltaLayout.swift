#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rectangles of one RGBA8 delta frame (pixel format 3) and the payload they make.
///
/// A sender builds the layout first, compares ``encodedLength`` with the full frame's
/// `width*height*4` bytes (and sends the full frame when the delta is not smaller), then allocates
/// once and calls ``write(from:into:)``.
public struct DeltaLayout: Hashable, Sendable {
    /// The full frame's size.
    public let frameSize: FrameSize
    /// The rectangles, which lie inside the frame and do not overlap, in the order they are written.
    public let rectangles: [DeltaRectangle]
    /// Bytes of the payload: the 4-byte count and every rectangle's header and pixels.
    public let encodedLength: Int

    /// The rectangles covering a set of changed tiles, clipped at the frame's right and bottom edges.
    ///
    /// Neighbouring tiles of a tile row become one rectangle; with `mergingVertically`, a rectangle
    /// whose tiles span the same columns in the next tile row grows down instead of starting another.
    ///
    /// - Parameters:
    ///   - tiles: Tiles of `grid`, usually from ``TileGrid/insertChangedTiles(from:to:into:)``.
    ///   - grid: The grid the tiles belong to.
    ///   - mergingVertically: Whether to merge runs that line up in consecutive tile rows. On by
    ///     default: it saves only 8 bytes a merged rectangle but cuts the rectangles (and so the
    ///     receiver's `putImageData` calls) from 20.8 to 14.4 a frame on 1080p screen content in
    ///     16-pixel tiles and from 68 to 1 on full motion, at no measurable cost (encode 0.006 ms
    ///     either way; `tools/bench/delta`, see ``TileGrid/defaultTileSize``).
    /// - Throws: ``FrameError`` when the frame is wider or taller than 65535 pixels, which a delta
    ///   cannot address.
    public init(tiles: TileSet, grid: TileGrid, mergingVertically: Bool = true) throws(FrameError) {
        precondition(tiles.capacity == grid.tileCount, "tile set of \(tiles.capacity) tiles for a grid of \(grid.tileCount)")
        try DeltaRectangle.checkAddressable(grid.frameSize)
        var rectangles: [DeltaRectangle] = []
        // Rectangles still open for growing down: the columns they span and where they are in `rectangles`.
        var open: [(columns: Range<Int>, index: Int)] = []
        var next: [(columns: Range<Int>, index: Int)] = []
        var tileIterator = tiles.makeIterator()
        var pending = tileIterator.next()
        for row in 0..<grid.rows {
            let rowEnd = (row + 1) * grid.columns
            var openIndex = 0
            next.removeAll(keepingCapacity: true)
            while let tile = pending, tile < rowEnd {
                // A run: this tile and the set tiles right after it in the same tile row.
                let start = tile - row * grid.columns
                var end = start + 1
                pending = tileIterator.next()
                while let following = pending, following == row * grid.columns + end, end < grid.columns {
                    end += 1
                    pending = tileIterator.next()
                }
                let columns = start..<end
                while openIndex < open.count, open[openIndex].columns.lowerBound < start { openIndex += 1 }
                if mergingVertically, openIndex < open.count, open[openIndex].columns == columns {
                    let index = open[openIndex].index
                    rectangles[index].height = min((row + 1) * grid.tileSize, grid.frameSize.height) - rectangles[index].y
                    next.append((columns, index))
                } else {
                    rectangles.append(grid.rectangle(columns: columns, rows: row..<row + 1))
                    next.append((columns, rectangles.count - 1))
                }
            }
            swap(&open, &next)
        }
        self.frameSize = grid.frameSize
        self.rectangles = rectangles
        encodedLength = Self.encodedLength(of: rectangles)
    }

    /// A layout of rectangles the caller chose, such as the regions a publisher knows it redrew.
    ///
    /// Overlap is checked as a receiver checks it, with a coverage bitmap of the frame
    /// (width*height/8 bytes, allocated for the call).
    ///
    /// - Parameters:
    ///   - rectangles: Rectangles inside the frame, each at least 1x1, no two overlapping.
    ///   - frameSize: The full frame's size.
    /// - Throws: ``FrameError`` naming the first rectangle that is empty, outside the frame or overlaps
    ///   an earlier one (the same errors a receiver would close with), or a frame wider or taller than
    ///   65535.
    public init(rectangles: [DeltaRectangle], frameSize: FrameSize) throws(FrameError) {
        try DeltaRectangle.checkAddressable(frameSize)
        var coverage = CoverageBitmap(frameSize: frameSize)
        for (index, rectangle) in rectangles.enumerated() {
            try rectangle.check(index: index, in: frameSize)
            if let pixel = coverage.mark(rectangle) {
                throw .deltaRectangleOverlap(index: index, rectangle: rectangle, pixelX: pixel.x, pixelY: pixel.y)
            }
        }
        self.frameSize = frameSize
        self.rectangles = rectangles
        encodedLength = Self.encodedLength(of: rectangles)
    }

    /// Writes the payload: the count, then each rectangle's header and its pixels taken from `frame`.
    ///
    /// - Parameters:
    ///   - frame: The new RGBA8 frame, `width*height*4` bytes.
    ///   - destination: At least ``encodedLength`` bytes; only the first ``encodedLength`` are written.
    public func write(from frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(frame.count == frameSize.rgbaByteCount, "frame buffer does not match \(frameSize)")
        precondition(destination.count >= encodedLength, "delta needs \(encodedLength) bytes, the buffer has \(destination.count)")
        destination.storeBytes(of: UInt32(rectangles.count).littleEndian, as: UInt32.self)
        let stride = frameSize.width * 4
        var offset = 4
        for rectangle in rectangles {
            rectangle.write(to: destination, at: offset)
            offset += DeltaRectangle.headerLength
            let rowBytes = rectangle.width * 4
            for row in rectangle.y..<rectangle.y + rectangle.height {
                memcpy(destination.baseAddress! + offset, frame.baseAddress! + row * stride + rectangle.x * 4, rowBytes)
                offset += rowBytes
            }
        }
    }

    private static func encodedLength(of rectangles: [DeltaRectangle]) -> Int {
        rectangles.reduce(4) { $0 + $1.encodedLength }
    }
}
