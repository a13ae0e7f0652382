import CanvasWireCore

/// One stream as `GET /streams` shows it.
struct StreamSnapshot: Encodable, Sendable {
    var name: String
    var width: Int?
    var height: Int?
    var framesPerSecond: Double
    var framesIn: UInt64
    var lastSequence: UInt64?
    /// The stream's current run and its state; `null` until a publisher has connected.
    var run: String?
    var runState: RunState?
    var publisher: ConnectionSnapshot?
    var viewers: [ConnectionSnapshot]

    private enum CodingKeys: String, CodingKey {
        case name, width, height, framesPerSecond, framesIn, lastSequence, run, runState, publisher, viewers
    }

    /// Absent values are written as `null` rather than left out, so every stream has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(framesPerSecond, forKey: .framesPerSecond)
        try container.encode(framesIn, forKey: .framesIn)
        try container.encode(lastSequence, forKey: .lastSequence)
        try container.encode(run, forKey: .run)
        try container.encode(runState, forKey: .runState)
        try container.encode(publisher, forKey: .publisher)
        try container.encode(viewers, forKey: .viewers)
    }
}

/// One connection's figures as `GET /streams` shows them.
struct ConnectionSnapshot: Encodable, Sendable {
    var id: Int
    var policy: String?
    /// Bytes handed to the connection and not yet written to its socket.
    var bufferedAmount: Int
    var framesSent: UInt64
    var dropped: UInt64
    /// A viewer's acknowledgement window (`?ack=N`); absent without one.
    var ack: Int?
    /// Frames sent to an acknowledging viewer and not yet acknowledged.
    var framesInFlight: Int?
    /// A viewer socket's `TCP_NOTSENT_LOWAT` and `SO_SNDBUF`, read back from the kernel.
    var socket: SocketReadback?

    init(_ counters: ConnectionCounters, policy: String?) {
        id = counters.id
        self.policy = policy
        bufferedAmount = counters.bufferedAmount
        framesSent = counters.sentFrames
        dropped = counters.droppedFrames
        ack = counters.ackWindow
        framesInFlight = counters.ackWindow.map { _ in counters.framesInFlight }
        socket = counters.socket
    }
}
