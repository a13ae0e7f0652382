/// One stream as `GET /streams` shows it.
struct StreamSnapshot: Encodable, Sendable {
    var name: String
    var width: Int?
    var height: Int?
    var framesPerSecond: Double
    var framesIn: UInt64
    var lastSequence: UInt64?
    var publisher: ConnectionSnapshot?
    var viewers: [ConnectionSnapshot]
}

/// One connection's figures as `GET /streams` shows them.
struct ConnectionSnapshot: Encodable, Sendable {
    var id: Int
    var policy: String?
    /// Bytes handed to the connection and not yet written to its socket.
    var bufferedAmount: Int
    var framesSent: UInt64
    var dropped: UInt64

    init(_ counters: ConnectionCounters, policy: String?) {
        id = counters.id
        self.policy = policy
        bufferedAmount = counters.bufferedAmount
        framesSent = counters.sentFrames
        dropped = counters.droppedFrames
    }
}
