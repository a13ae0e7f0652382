import CanvasWireCore
import CoreMetrics

/// The swift-metrics instruments of one stream, labelled with its name; destroyed with the stream, so
/// `/metrics` lists the streams `GET /streams` does.
struct StreamMetrics: Sendable {
    let framesIn: Counter
    let bytesIn: Counter
    let framesOut: Counter
    let bytesOut: Counter
    let framesDropped: Counter
    /// Messages compressed for permessage-deflate viewers: once per frame (and variant), not per viewer.
    let messagesCompressed: Counter
    /// Recorded at each `/metrics` request from the stream's snapshot.
    let bufferedAmount: Gauge
    let viewers: Gauge
    let framesPerSecond: Gauge

    init(stream: StreamName, factory: any MetricsFactory) {
        let dimensions = [("stream", stream.rawValue)]
        framesIn = Counter(label: "canvaswire_frames_in_total", dimensions: dimensions, factory: factory)
        bytesIn = Counter(label: "canvaswire_bytes_in_total", dimensions: dimensions, factory: factory)
        framesOut = Counter(label: "canvaswire_frames_out_total", dimensions: dimensions, factory: factory)
        bytesOut = Counter(label: "canvaswire_bytes_out_total", dimensions: dimensions, factory: factory)
        framesDropped = Counter(label: "canvaswire_frames_dropped_total", dimensions: dimensions, factory: factory)
        messagesCompressed = Counter(label: "canvaswire_messages_compressed_total", dimensions: dimensions, factory: factory)
        bufferedAmount = Gauge(label: "canvaswire_stream_buffered_amount_bytes", dimensions: dimensions, factory: factory)
        viewers = Gauge(label: "canvaswire_stream_viewers", dimensions: dimensions, factory: factory)
        framesPerSecond = Gauge(label: "canvaswire_stream_frames_per_second", dimensions: dimensions, factory: factory)
    }

    func destroy() {
        [framesIn, bytesIn, framesOut, bytesOut, framesDropped, messagesCompressed].forEach { $0.destroy() }
        [bufferedAmount, viewers, framesPerSecond].forEach { $0.destroy() }
    }
}
