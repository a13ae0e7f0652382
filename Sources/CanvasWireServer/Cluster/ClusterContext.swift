import CanvasWireCore
import CanvasWireNATS
import Logging
import NIOCore

/// What every bridge and feed of one node shares: the NATS connection and its event loop (where
/// all of the cluster's state lives), the subjects, the settings, and the server's registry.
struct ClusterContext: Sendable {
    let nodeName: String
    let configuration: ClusterConfiguration
    let subjects: ClusterSubjects
    let nats: NATSConnection
    let registry: StreamRegistry
    let limits: FrameLimits
    let metrics: ClusterMetrics
    let logger: Logger
    let makeCounters: @Sendable () -> ConnectionCounters

    var loop: any EventLoop { nats.eventLoop }

    /// Publishes `item` in as many messages as the server's `max_payload` needs, each an envelope
    /// and a slice of the item. Returns `false`, having sent nothing, while NATS is disconnected.
    ///
    /// Called on the loop, so the connection cannot drop between the check and the last chunk: a
    /// chunked item leaves whole or not at all.
    @discardableResult
    func send(_ item: ByteBuffer, kind: ClusterEnvelope.Kind, epoch: UInt64, number: UInt64, to subject: String) -> Bool {
        guard nats.isConnected else { return false }
        let chunker = ItemChunker(maxPayload: nats.serverInfo.maxPayload)
        for (envelope, body) in chunker.chunks(of: item, kind: kind, epoch: epoch, number: number) {
            do {
                try nats.publish(prefix: envelope, body, to: subject)
            } catch {
                logger.warning("could not publish to the cluster: \(error)", metadata: ["subject": "\(subject)"])
                return false
            }
        }
        return true
    }
}
