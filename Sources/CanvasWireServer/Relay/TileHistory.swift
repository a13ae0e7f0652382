import CanvasWireCore

/// The tiles that changed at each of a stream's recent frames, so that a viewer that skipped frames
/// can be sent one delta holding every region changed since the frame it last got.
///
/// A frame whose changes are not known (it was the first, or of another size or format, or nobody
/// wanted deltas when it was published) breaks the chain: a viewer behind it gets a full frame.
struct TileHistory {
    /// Frames remembered. Each is a bit per 16-pixel tile (about 1 KB at 1080p), so 256 frames, eight
    /// seconds at 30 fps, cost a quarter of a megabyte at most.
    static let capacity = 256

    private(set) var grid: TileGrid?
    private var entries: [(index: UInt64, tiles: TileSet?)] = []

    /// Remembers what changed at frame `index`; `tiles` is `nil` when that is not known.
    mutating func record(index: UInt64, tiles: TileSet?, grid: TileGrid?) {
        if grid != self.grid {
            entries.removeAll(keepingCapacity: true)
            self.grid = grid
        }
        entries.append((index, tiles))
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }

    /// Every tile that changed after frame `base` up to and including frame `index`; `nil` when a frame
    /// in between is not covered.
    func changes(after base: UInt64, through index: UInt64) -> TileSet? {
        guard let grid, base < index, let last = entries.last, last.index == index,
            let first = entries.first, first.index <= base + 1
        else { return nil }
        var union = TileSet(grid: grid)
        for entry in entries.reversed() where entry.index > base {
            guard let tiles = entry.tiles else { return nil }
            union.formUnion(tiles)
        }
        return union
    }
}
