import Synchronization

/// What a ``NATSConnection`` has carried since it was opened, across reconnects: the figures a relay
/// node exports to Prometheus so an operator sees each node's share of the cluster's traffic.
public struct NATSStatistics: Sendable, Equatable {
    /// Messages handed to the socket by ``NATSConnection/publish(_:to:replyTo:headers:)`` (requests included).
    public var messagesOut: UInt64
    /// Payload bytes of those messages (without headers and protocol lines).
    public var bytesOut: UInt64
    /// Messages delivered by the server to this connection's subscriptions.
    public var messagesIn: UInt64
    /// Payload bytes of those messages (without headers and protocol lines).
    public var bytesIn: UInt64
    /// Times the connection came back after losing its server.
    public var reconnects: UInt64

    /// Figures of a connection, all zero by default: what a reader had before its first reading.
    public init(messagesOut: UInt64 = 0, bytesOut: UInt64 = 0, messagesIn: UInt64 = 0, bytesIn: UInt64 = 0, reconnects: UInt64 = 0) {
        self.messagesOut = messagesOut
        self.bytesOut = bytesOut
        self.messagesIn = messagesIn
        self.bytesIn = bytesIn
        self.reconnects = reconnects
    }
}

/// The counters behind ``NATSStatistics``, updated from the event loop and read from any thread.
final class NATSCounters: Sendable {
    let messagesOut = Atomic<UInt64>(0)
    let bytesOut = Atomic<UInt64>(0)
    let messagesIn = Atomic<UInt64>(0)
    let bytesIn = Atomic<UInt64>(0)
    let reconnects = Atomic<UInt64>(0)

    var snapshot: NATSStatistics {
        NATSStatistics(
            messagesOut: messagesOut.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed),
            messagesIn: messagesIn.load(ordering: .relaxed), bytesIn: bytesIn.load(ordering: .relaxed),
            reconnects: reconnects.load(ordering: .relaxed)
        )
    }
}
