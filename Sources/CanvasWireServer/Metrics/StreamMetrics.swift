import CanvasWireCore
import CoreMetrics

/// The swift-metrics instruments of one stream, labelled with its name.
struct StreamMetrics: Sendable {
    let framesIn: Counter
    let bytesIn: Counter
    let framesOut: Counter
    let bytesOut: Counter
    let framesDropped: Counter

    init(stream: StreamName, factory: any MetricsFactory) {
        let dimensions = [("stream", stream.rawValue)]
        framesIn = Counter(label: "canvaswire_frames_in_total", dimensions: dimensions, factory: factory)
        bytesIn = Counter(label: "canvaswire_bytes_in_total", dimensions: dimensions, factory: factory)
        framesOut = Counter(label: "canvaswire_frames_out_total", dimensions: dimensions, factory: factory)
        bytesOut = Counter(label: "canvaswire_bytes_out_total", dimensions: dimensions, factory: factory)
        framesDropped = Counter(label: "canvaswire_frames_dropped_total", dimensions: dimensions, factory: factory)
    }
}
