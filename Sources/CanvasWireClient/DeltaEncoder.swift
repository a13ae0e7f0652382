import CanvasWireCore

/// Decides what a publisher that sends deltas puts on the wire for each frame: the frame whole first
/// and after a size change, then only the tiles that changed since the frame before (pixel format 3,
/// docs/PROTOCOL.md 1.1), whenever that is smaller than the frame whole.
///
/// It describes one connection: the server applies a delta to the frame this connection sent last, and
/// a new connection has sent none, so it starts again with an empty encoder.
struct DeltaEncoder {
    /// The frame sent last on this connection, whole: what the next delta is made against.
    private var previous: (size: FrameSize, pixels: [UInt8])?
    /// Kept while the size stays, so that finding changes allocates nothing.
    private var tiles: (grid: TileGrid, set: TileSet)?

    /// The header and payload to send for a frame.
    ///
    /// Finding the changed tiles is one pass over both frames while little changes (0.57 ms a 1080p
    /// frame on one core, `TileGrid.insertChangedTiles`), much less where much does; the delta
    /// payload is written only when it is the smaller message.
    ///
    /// - Parameters:
    ///   - header: The frame's header (RGBA8 or PNG).
    ///   - payload: Its payload: for RGBA8 the `width*height*4` pixels, which are kept (not copied)
    ///     until the next frame.
    mutating func encode(_ header: FrameHeader, payload: [UInt8]) -> (header: FrameHeader, payload: [UInt8]) {
        guard header.pixelFormat == .rgba8, payload.count == header.size.rgbaByteCount else {
            previous = nil  // a delta applies to an RGBA8 frame only
            return (header, payload)
        }
        defer { previous = (header.size, payload) }
        guard let previous, previous.size == header.size, let layout = changes(from: previous.pixels, to: payload, size: header.size),
            layout.encodedLength < payload.count
        else { return (header, payload) }
        var delta = header
        delta.pixelFormat = .rgba8Delta
        let bytes = [UInt8](unsafeUninitializedCapacity: layout.encodedLength) { buffer, count in
            payload.withUnsafeBytes { layout.write(from: $0, into: UnsafeMutableRawBufferPointer(buffer)) }
            count = layout.encodedLength
        }
        return (delta, bytes)
    }

    /// The rectangles covering every tile that differs, or `nil` for a frame a delta cannot address
    /// (wider or taller than 65535 pixels).
    private mutating func changes(from old: [UInt8], to new: [UInt8], size: FrameSize) -> DeltaLayout? {
        var (grid, set) = tiles.take().flatMap { $0.grid.frameSize == size ? $0 : nil }
            ?? (TileGrid(frameSize: size), TileSet(grid: TileGrid(frameSize: size)))
        defer { tiles = (grid, set) }
        set.removeAll()
        old.withUnsafeBytes { old in new.withUnsafeBytes { new in grid.insertChangedTiles(from: old, to: new, into: &set) } }
        return try? DeltaLayout(tiles: set, grid: grid)
    }
}
