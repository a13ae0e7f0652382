import Synchronization

/// Figures of one connection that `/streams` and `/metrics` read from any thread while the
/// connection's event loop updates them.
final class ConnectionCounters: Sendable {
    let id: Int
    private let buffered = Atomic<Int>(0)
    private let dropped = Atomic<UInt64>(0)
    private let framesSent = Atomic<UInt64>(0)

    init(id: Int) { self.id = id }

    var bufferedAmount: Int {
        get { buffered.load(ordering: .relaxed) }
        set { buffered.store(newValue, ordering: .relaxed) }
    }

    var droppedFrames: UInt64 {
        get { dropped.load(ordering: .relaxed) }
        set { dropped.store(newValue, ordering: .relaxed) }
    }

    var sentFrames: UInt64 { framesSent.load(ordering: .relaxed) }

    func countSentFrame() { framesSent.add(1, ordering: .relaxed) }
}
