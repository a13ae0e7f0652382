import CanvasWireCore

/// The NATS subjects and key-value keys of one cluster.
///
/// Stream names may hold dots, which separate subject tokens (and may not start or end a key), so a
/// name is written with `=` for each dot: `=` is allowed in both and never appears in a stream name,
/// so the mapping is one to one.
struct ClusterSubjects: Sendable {
    /// The first token of every subject, so several clusters can share one NATS.
    let prefix: String

    static func token(for name: StreamName) -> String {
        String(name.rawValue.map { $0 == "." ? "=" : $0 })
    }

    static func streamName(forToken token: String) -> StreamName? {
        StreamName(String(token.map { $0 == "=" ? "." : $0 }))
    }

    /// Origin to every watching node: frame chunks, controls and heartbeats.
    func data(_ name: StreamName) -> String { "\(prefix).s.\(Self.token(for: name)).d" }

    /// Watching nodes to the origin: interest, credit, resends, goodbyes.
    func upstream(_ name: StreamName) -> String { "\(prefix).s.\(Self.token(for: name)).u" }

    /// A node about to hold the stream asks who watches it (``WatcherCensus``).
    func watchers(_ name: StreamName) -> String { "\(prefix).s.\(Self.token(for: name)).w" }

    /// The origin to one node about one stream: welcomes, snapshots and resent items.
    func inbox(node: String, _ name: StreamName) -> String { "\(prefix).n.\(node).\(Self.token(for: name))" }

    /// The key-value bucket of stream claims.
    var bucket: String { "\(prefix)_streams" }

    func key(_ name: StreamName) -> String { Self.token(for: name) }
}
