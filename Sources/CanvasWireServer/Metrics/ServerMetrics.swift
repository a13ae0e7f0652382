import CoreMetrics
import Prometheus

/// The server's Prometheus registry and the instruments that are not per stream.
///
/// Instruments are created through swift-metrics with an explicit factory, so a library user's own
/// `MetricsSystem` bootstrap is left alone and `/metrics` shows exactly this server's figures.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let publishers: Meter
    private let viewers: Meter
    private let echoes: Meter
    private let bufferedAmount: CoreMetrics.Gauge

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        publishers = Meter(label: "canvaswire_connections", dimensions: [("role", "publisher")], factory: factory)
        viewers = Meter(label: "canvaswire_connections", dimensions: [("role", "viewer")], factory: factory)
        echoes = Meter(label: "canvaswire_connections", dimensions: [("role", "echo")], factory: factory)
        bufferedAmount = CoreMetrics.Gauge(label: "canvaswire_buffered_amount_bytes", dimensions: [], factory: factory)
    }

    /// What a connection counted in `canvaswire_connections` does.
    enum ConnectionRole {
        case publisher
        case viewer
        case echo
    }

    func connectionOpened(role: ConnectionRole) { meter(for: role).increment() }

    func connectionClosed(role: ConnectionRole) { meter(for: role).decrement() }

    /// The Prometheus text exposition, with per-stream gauges refreshed from `streams`.
    func exposition(streams: [RelayStream]) -> [UInt8] {
        var total = 0
        for stream in streams {
            let snapshot = stream.snapshot()
            let connections = snapshot.viewers + (snapshot.publisher.map { [$0] } ?? [])
            let sum = connections.reduce(0) { $0 + $1.bufferedAmount }
            total += sum
            stream.metrics.bufferedAmount.record(sum)
            stream.metrics.viewers.record(snapshot.viewers.count)
            stream.metrics.framesPerSecond.record(snapshot.framesPerSecond)
        }
        bufferedAmount.record(total)
        var output: [UInt8] = []
        registry.emit(into: &output)
        return output
    }

    private func meter(for role: ConnectionRole) -> Meter {
        switch role {
        case .publisher: publishers
        case .viewer: viewers
        case .echo: echoes
        }
    }
}
