/// How far ahead a node with lossless viewers lets the origin publish: the items it received plus
/// a window, extended only while none of its lossless viewers is stalled.
///
/// The window is counted in items but sized in bytes, so that it holds about ``bytes`` of frames
/// whatever their size, and never fewer than two (one in flight while the next is on its way).
/// A grant goes out once half the window is used, so grants stay few (one per frame at 1080p,
/// where the window is two) without the origin ever waiting for one in steady state. Pure.
struct CreditWindow {
    /// The bytes of frames the origin may have in flight towards this node.
    let bytes: Int
    /// The size of the frames seen last; 0 before the first.
    private(set) var frameBytes = 0
    /// The last item the origin has been allowed to publish.
    private(set) var granted: UInt64 = 0

    init(bytes: Int) {
        self.bytes = bytes
    }

    /// The window in items.
    var items: UInt64 {
        guard frameBytes > 0 else { return 2 }
        return UInt64(max(2, bytes / frameBytes))
    }

    mutating func noteFrame(bytes: Int) {
        frameBytes = bytes
    }

    /// A welcome placed the node at `anchor`; the origin granted the window from there.
    mutating func restart(anchor: UInt64, window: UInt64) {
        granted = anchor + window
    }

    /// The grant to send after receiving up to `received`, if one is due.
    ///
    /// - Parameters:
    ///   - mayRead: Whether no lossless viewer of this node is stalled; while one is, the grant
    ///     does not move and the origin pauses once it reaches it.
    ///   - force: Send the current grant even if nothing changed (a heartbeat).
    mutating func grant(received: UInt64, mayRead: Bool, force: Bool = false) -> UInt64? {
        guard mayRead else { return force ? granted : nil }
        let target = received + items
        if force || target >= granted + max(1, items / 2) {
            granted = max(granted, target)
            return granted
        }
        return nil
    }
}
