import Synchronization

/// Numbers for connections, unique within one server: its WebSocket sessions and the cluster's
/// bridges and feeds, which `GET /streams` lists beside them.
final class ConnectionIDs: Sendable {
    private let counter = Atomic<Int>(0)

    func next() -> Int {
        counter.add(1, ordering: .relaxed).newValue
    }
}
