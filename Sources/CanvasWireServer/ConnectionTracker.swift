import NIOCore
import CanvasWireWebSocket
import Synchronization

/// Every open client connection, so the server can enforce its connection limit and say goodbye to
/// each client when it shuts down.
final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Registers `channel` unless `limit` connections are open already.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let admitted = channels.withLock { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                self.channels.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    var count: Int { channels.withLock { $0.count } }

    /// Sends close 1001 to every WebSocket client and closes plain HTTP connections, then waits for all
    /// of them to finish their in-flight writes and close, or for `timeout`, whichever comes first.
    func closeAll(on eventLoop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<Void> {
        let open = channels.withLock { Array($0.values) }
        for channel in open {
            channel.eventLoop.execute {
                if let endpoint = try? channel.pipeline.syncOperations.handler(type: WebSocketEndpointHandler.self) {
                    endpoint.close(code: 1001, reason: "server shutting down")
                } else {
                    channel.close(promise: nil)
                }
            }
        }
        let closed = EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: eventLoop)
        let deadline = eventLoop.scheduleTask(in: timeout) { open.forEach { $0.close(promise: nil) } }
        return closed.always { _ in deadline.cancel() }
    }
}
