import CanvasWireNATS
import CoreMetrics
import Synchronization

/// This node's part of the cluster in `/metrics`, labelled with the node's name: its NATS traffic
/// (messages and bytes each way, reconnects, bytes waiting for the socket) and what the relay did
/// with it (frames published once for every other node, frames dropped for live interest, frames
/// received and lost between nodes, resends, lossless viewers closed at a gap that could not be filled).
final class ClusterMetrics: Sendable {
    let framesPublished: Counter
    let framesDropped: Counter
    let itemsResent: Counter
    let framesReceived: Counter
    let incompleteFrames: Counter
    let gaps: Counter
    let losslessViewersClosed: Counter
    private let natsMessagesOut: Counter
    private let natsBytesOut: Counter
    private let natsMessagesIn: Counter
    private let natsBytesIn: Counter
    private let natsReconnects: Counter
    private let natsPendingBytes: Gauge
    private let reported = Mutex(NATSStatistics())

    init(node: String, factory: any MetricsFactory) {
        let dimensions = [("node", node)]
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions, factory: factory) }
        framesPublished = counter("canvaswire_cluster_frames_published_total")
        framesDropped = counter("canvaswire_cluster_frames_dropped_total")
        itemsResent = counter("canvaswire_cluster_items_resent_total")
        framesReceived = counter("canvaswire_cluster_frames_received_total")
        incompleteFrames = counter("canvaswire_cluster_incomplete_frames_total")
        gaps = counter("canvaswire_cluster_gaps_total")
        losslessViewersClosed = counter("canvaswire_cluster_lossless_viewers_closed_total")
        natsMessagesOut = counter("canvaswire_nats_messages_out_total")
        natsBytesOut = counter("canvaswire_nats_bytes_out_total")
        natsMessagesIn = counter("canvaswire_nats_messages_in_total")
        natsBytesIn = counter("canvaswire_nats_bytes_in_total")
        natsReconnects = counter("canvaswire_nats_reconnects_total")
        natsPendingBytes = Gauge(label: "canvaswire_nats_pending_bytes", dimensions: dimensions, factory: factory)
    }

    /// Brings the NATS figures up to date, at each `/metrics` request: the connection keeps its own
    /// totals, so the counters advance by what changed since the last request.
    func record(_ connection: NATSConnection) {
        // Read under the lock, so two requests at once cannot see the totals go backwards.
        let (previous, statistics) = reported.withLock { reported in
            let statistics = connection.statistics
            defer { reported = statistics }
            return (reported, statistics)
        }
        natsMessagesOut.increment(by: Int64(statistics.messagesOut - previous.messagesOut))
        natsBytesOut.increment(by: Int64(statistics.bytesOut - previous.bytesOut))
        natsMessagesIn.increment(by: Int64(statistics.messagesIn - previous.messagesIn))
        natsBytesIn.increment(by: Int64(statistics.bytesIn - previous.bytesIn))
        natsReconnects.increment(by: Int64(statistics.reconnects - previous.reconnects))
        natsPendingBytes.record(connection.pendingOutboundBytes)
    }
}
