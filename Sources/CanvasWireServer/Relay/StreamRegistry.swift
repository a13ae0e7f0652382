import CanvasWireCore
import CoreMetrics
import Synchronization

/// All streams of a server: created on first use, bounded in number, and forgotten (retained frame
/// and metrics included) once no connection has held them for the idle timeout, so a server left
/// running for weeks does not fill up with names used once.
///
/// A connection *checks out* its stream when it opens and checks it in when it closes; the lookup and
/// the check-out happen under the registry's lock, so a stream cannot expire between a connection
/// finding it and holding it.
final class StreamRegistry: Sendable {
    private let streams = Mutex<[StreamName: RelayStream]>([:])
    private let maxStreams: Int
    private let idleTimeout: Duration
    private let deflate: DeflateMode
    private let metricsFactory: any MetricsFactory
    private let runIDs = RunIDs()

    init(maxStreams: Int, idleTimeout: Duration, deflate: DeflateMode = .auto, metricsFactory: any MetricsFactory) {
        self.maxStreams = maxStreams
        self.idleTimeout = idleTimeout
        self.deflate = deflate
        self.metricsFactory = metricsFactory
    }

    /// Whether a connection to `name` can be served: the stream exists, or there is room for it.
    func canServe(_ name: StreamName) -> Bool {
        streams.withLock { $0[name] != nil || $0.count < maxStreams }
    }

    /// The stream called `name`, created if needed, held by the caller until ``checkIn(_:)``; `nil`
    /// when creating it would exceed the limit.
    func checkOut(_ name: StreamName) -> RelayStream? {
        streams.withLock { streams in
            let stream: RelayStream
            if let existing = streams[name] {
                stream = existing
            } else {
                guard streams.count < maxStreams else { return nil }
                let runIDs = self.runIDs
                stream = RelayStream(
                    name: name, metrics: StreamMetrics(stream: name, factory: metricsFactory),
                    compression: CompressionAdvisor(mode: deflate), makeRunID: { runIDs.next() }
                )
                streams[name] = stream
            }
            stream.checkOut()
            return stream
        }
    }

    /// The caller no longer holds `stream`. With an idle timeout of zero an unheld stream goes at once.
    func checkIn(_ stream: RelayStream) {
        stream.checkIn()
        if idleTimeout == .zero { expireIdle() }
    }

    /// Forgets every stream no connection has held for the idle timeout.
    func expireIdle(now: ContinuousClock.Instant = .now) {
        let cutoff = now - idleTimeout
        let expired = streams.withLock { streams in
            let idle = streams.values.filter { $0.isIdle(since: cutoff) }
            for stream in idle { streams[stream.name] = nil }
            return idle
        }
        for stream in expired { stream.metrics.destroy() }
    }

    func existingStream(named name: StreamName) -> RelayStream? {
        streams.withLock { $0[name] }
    }

    var all: [RelayStream] {
        streams.withLock { $0.values.sorted { $0.name < $1.name } }
    }
}

/// Run identifiers, unique within this server's lifetime and, through a random prefix, across its
/// restarts: a publisher reconnecting with `?run=ID` to a restarted server must not continue a
/// different publisher's run that happens to have the same number.
final class RunIDs: Sendable {
    private let prefix = String(UInt32.random(in: .min ... .max), radix: 36)
    private let counter = Atomic<Int>(0)

    func next() -> String {
        "\(prefix)-\(counter.add(1, ordering: .relaxed).newValue)"
    }
}
