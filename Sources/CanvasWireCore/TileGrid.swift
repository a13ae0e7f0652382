/// Square tiles laid over a frame, in which changes between two frames are found and sent.
///
/// Tiles are numbered row by row, left to right; those on the right and bottom edges are clipped to
/// the frame when its size is not a multiple of the tile size.
public struct TileGrid: Hashable, Sendable {
    /// The tile size the encoder uses unless told otherwise.
    public static let defaultTileSize = 32

    public let frameSize: FrameSize
    /// The side of a tile in pixels.
    public let tileSize: Int
    /// Tiles across, the last one possibly narrower.
    public let columns: Int
    /// Tiles down, the last one possibly shorter.
    public let rows: Int

    /// - Parameters:
    ///   - frameSize: The frames' size, at least 1x1.
    ///   - tileSize: The side of a tile in pixels, at least 1.
    public init(frameSize: FrameSize, tileSize: Int = TileGrid.defaultTileSize) {
        precondition(frameSize.width >= 1 && frameSize.height >= 1, "a tile grid needs a frame of at least 1x1")
        precondition(tileSize >= 1, "a tile is at least 1 pixel")
        self.frameSize = frameSize
        self.tileSize = tileSize
        columns = (frameSize.width + tileSize - 1) / tileSize
        rows = (frameSize.height + tileSize - 1) / tileSize
    }

    public var tileCount: Int { columns * rows }

    /// The pixels a tile covers, clipped to the frame.
    public func rectangle(ofTile tile: Int) -> DeltaRectangle {
        precondition(tile >= 0 && tile < tileCount, "tile \(tile) is outside 0..<\(tileCount)")
        return rectangle(columns: tile % columns..<tile % columns + 1, rows: tile / columns..<tile / columns + 1)
    }

    /// The pixels a block of tiles covers, clipped to the frame.
    func rectangle(columns: Range<Int>, rows: Range<Int>) -> DeltaRectangle {
        let x = columns.lowerBound * tileSize
        let y = rows.lowerBound * tileSize
        return DeltaRectangle(
            x: x, y: y,
            width: min(columns.upperBound * tileSize, frameSize.width) - x,
            height: min(rows.upperBound * tileSize, frameSize.height) - y
        )
    }
}
