import CanvasWireCore
import CoreMetrics
import Synchronization

/// All streams of a server, created on first use and bounded in number.
final class StreamRegistry: Sendable {
    private let streams = Mutex<[StreamName: RelayStream]>([:])
    private let maxStreams: Int
    private let metricsFactory: any MetricsFactory

    init(maxStreams: Int, metricsFactory: any MetricsFactory) {
        self.maxStreams = maxStreams
        self.metricsFactory = metricsFactory
    }

    /// The stream called `name`, created if needed; `nil` when creating it would exceed the limit.
    func stream(named name: StreamName) -> RelayStream? {
        streams.withLock { streams in
            if let existing = streams[name] { return existing }
            guard streams.count < maxStreams else { return nil }
            let stream = RelayStream(name: name, metrics: StreamMetrics(stream: name, factory: metricsFactory))
            streams[name] = stream
            return stream
        }
    }

    func existingStream(named name: StreamName) -> RelayStream? {
        streams.withLock { $0[name] }
    }

    /// Forgets `stream` once nobody publishes or views it and it holds no frame worth serving.
    func releaseIfUnused(_ stream: RelayStream) {
        streams.withLock { streams in
            if streams[stream.name] === stream, stream.isIdle, stream.latestFrame == nil {
                streams[stream.name] = nil
            }
        }
    }

    var all: [RelayStream] {
        streams.withLock { $0.values.sorted { $0.name < $1.name } }
    }
}
