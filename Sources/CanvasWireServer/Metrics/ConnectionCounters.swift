import Synchronization

/// Figures of one connection that `/streams` and `/metrics` read from any thread while the
/// connection's event loop updates them.
final class ConnectionCounters: Sendable {
    let id: Int
    /// A viewer socket's options as read back when it opened; `nil` for other connections.
    let socket: SocketReadback?
    /// A viewer's acknowledgement window; `nil` for viewers without acks and other connections.
    let ackWindow: Int?
    private let buffered = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)
    private let dropped = Atomic<UInt64>(0)
    private let framesSent = Atomic<UInt64>(0)

    init(id: Int, socket: SocketReadback? = nil, ackWindow: Int? = nil) {
        self.id = id
        self.socket = socket
        self.ackWindow = ackWindow
    }

    var bufferedAmount: Int {
        get { buffered.load(ordering: .relaxed) }
        set { buffered.store(newValue, ordering: .relaxed) }
    }

    /// Frames sent to an acknowledging viewer and not acknowledged yet.
    var framesInFlight: Int {
        get { inFlight.load(ordering: .relaxed) }
        set { inFlight.store(newValue, ordering: .relaxed) }
    }

    var droppedFrames: UInt64 {
        get { dropped.load(ordering: .relaxed) }
        set { dropped.store(newValue, ordering: .relaxed) }
    }

    var sentFrames: UInt64 { framesSent.load(ordering: .relaxed) }

    func countSentFrame() { framesSent.add(1, ordering: .relaxed) }
}
