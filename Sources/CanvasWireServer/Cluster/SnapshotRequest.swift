import CanvasWireCore
import CanvasWireNATS
import NIOCore

/// Fetches a stream's latest frame from the node that holds it, once, for a node that neither holds
/// nor watches the stream: `latest.png` answers the same on every node.
enum SnapshotRequest {
    /// The longest the origin may take to answer.
    static let timeout = Duration.seconds(2)

    /// The frame, or `nil` when no node holds the stream, it has no frame, or no answer came in time.
    static func fetch(_ name: StreamName, cluster: ClusterContext) async -> Frame? {
        let inbox = NATSConnection.newInbox()
        guard let answers = try? cluster.nats.subscribe(to: inbox) else { return nil }
        let subscription = answers.subscription
        let timer = cluster.loop.scheduleTask(in: TimeAmount(timeout)) { subscription.unsubscribe() }
        defer {
            timer.cancel()
            subscription.unsubscribe()
        }
        let request = MirrorReport(kind: .snapshot, node: cluster.nodeName, lossless: false, window: 0)
        do {
            try cluster.nats.publish(ClusterJSON.encode(request), to: cluster.subjects.upstream(name), replyTo: inbox)
        } catch {
            return nil
        }
        var chunks = ItemReassembler()
        let allocator = ByteBufferAllocator()
        for await answer in answers {
            if answer.headers?.status == 503 { return nil }  // nobody holds the stream
            var body = answer.payload
            guard let envelope = try? ClusterEnvelope.read(from: &body) else { return nil }
            switch envelope.kind {
            case .welcome:
                guard (try? ClusterJSON.decode(OriginWelcome.self, from: body))?.snapshotBytes != nil else { return nil }
            case .snapshotChunk:
                guard let item = chunks.accept(envelope, body: body, allocator: allocator) else { continue }
                return try? Frame(validating: item.body, limits: cluster.limits)
            default:
                return nil
            }
        }
        return nil
    }
}
