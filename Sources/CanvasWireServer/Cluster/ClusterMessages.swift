import CanvasWireCore

/// What a watching node tells a stream's origin, as JSON on `<prefix>.s.<stream>.u`: its interest
/// (sent at once and then with every heartbeat, which is how the origin knows it is alive), its
/// credit, a gap it wants filled, or that it stops watching.
struct MirrorReport: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// Watching; doubles as a heartbeat and carries the credit.
        case interest
        /// Items from ``from`` on went missing: send them again.
        case resend
        /// Send a welcome: this node's view of the stream may be out of date.
        case refresh
        /// No longer watching.
        case bye
        /// Not watching, but send the latest frame to the message's reply subject (`latest.png` on
        /// a node without viewers of the stream).
        case snapshot
    }

    var kind: Kind
    var node: String
    /// Whether the node has `policy=all` viewers of the stream.
    var lossless: Bool
    /// The epoch the node follows and where it is in it; absent before its first welcome.
    var epoch: UInt64?
    var received: UInt64?
    var grant: UInt64?
    /// The window in items the node would grant from a fresh start.
    var window: UInt64
    var from: UInt64?
}

/// The origin's answer to a node that starts watching (or lost its place): where the stream
/// stands. The snapshot frame, when there is one, follows in ``ClusterEnvelope/Kind/snapshotChunk``
/// messages; every later item is numbered after the welcome's anchor.
struct OriginWelcome: Codable, Sendable, Equatable {
    /// The node that holds the stream.
    var node: String
    /// The publisher's state, as a `publisher` control message says it.
    var publisher: ControlMessage.PublisherState
    /// The run the snapshot frame belongs to; absent when there is no snapshot.
    var snapshotRun: String?
    /// The snapshot frame's message length; absent when there is none.
    var snapshotBytes: Int?
}

/// What the cluster's key-value bucket holds for a stream: which node holds it, and whether a
/// publisher is connected there.
///
/// A node whose publisher leaves keeps the key (with `publisher: false`) while it keeps the stream,
/// so that nodes that start viewing later still find the node that has the latest frame; a
/// publisher on any node takes such a key over with a compare-and-set.
struct StreamClaim: Codable, Sendable, Equatable {
    var node: String
    var publisher: Bool
    /// The current run, for `GET /streams`.
    var run: String?
}
