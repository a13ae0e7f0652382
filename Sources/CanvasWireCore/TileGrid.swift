/// Square tiles laid over a frame, in which changes between two frames are found and sent.
///
/// Tiles are numbered row by row, left to right; those on the right and bottom edges are clipped to
/// the frame when its size is not a multiple of the tile size.
public struct TileGrid: Hashable, Sendable {
    /// The tile size the encoder uses unless told otherwise: 16 pixels.
    ///
    /// Measured with `tools/bench/delta` (1920x1080, one core of the 2-core AMD EPYC VM, frames read
    /// from memory, median of 5 runs), tile sizes 16 / 32 / 64 / 128:
    /// - screen content (windows, typing, a scrolling chart, a cursor): finder 0.571 / 0.536 / 0.571 /
    ///   0.592 ms a frame, changed tiles 2.4 / 2.9 / 4.2 / 8.4 %, delta 197,751 / 244,774 / 348,197 /
    ///   745,500 bytes a frame (2.4 / 3.0 / 4.2 / 9.0 % of the full frame), 14.4 / 4.3 / 4.1 / 3.0
    ///   rectangles a frame after vertical merging;
    /// - video (every pixel changes): finder 0.061 / 0.015 / 0.004 / 0.001 ms, every tile changed;
    /// - noise: finder 0.062 / 0.015 / 0.004 / 0.001 ms, every tile changed.
    ///
    /// Finding costs about the same at every size where little changes (it is one pass over both
    /// frames, bound by memory) and far below the 3 ms budget where everything changes (a tile stops at
    /// its first difference), so the size is chosen by bytes: 16 sends 19 % fewer than 32 and 43 %
    /// fewer than 64, for about 14 rectangles (`putImageData` calls) a frame.
    public static let defaultTileSize = 16

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

    /// Adds every tile that `rectangle` touches.
    ///
    /// - Precondition: `rectangle` lies inside the frame: one past an edge would mark tiles of the
    ///   next row instead.
    public func insertTiles(touching rectangle: DeltaRectangle, into tiles: inout TileSet) {
        precondition(rectangle.x >= 0 && rectangle.y >= 0 && rectangle.x + rectangle.width <= frameSize.width
                         && rectangle.y + rectangle.height <= frameSize.height,
                     "\(rectangle) is not inside \(frameSize)")
        guard rectangle.width > 0, rectangle.height > 0 else { return }
        let columns = rectangle.x / tileSize...(rectangle.x + rectangle.width - 1) / tileSize
        for row in rectangle.y / tileSize...(rectangle.y + rectangle.height - 1) / tileSize {
            for column in columns { tiles.insert(row * self.columns + column) }
        }
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
