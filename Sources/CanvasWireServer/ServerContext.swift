import Logging
import Synchronization

/// What every connection of one server shares.
final class ServerContext: Sendable {
    static let serverName = "canvaswire/0.1.0"

    let configuration: ServerConfiguration
    let registry: StreamRegistry
    let metrics: ServerMetrics
    let connections: ConnectionTracker
    let logger: Logger
    private let connectionIDs = Atomic<Int>(0)

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.metrics = ServerMetrics()
        self.registry = StreamRegistry(maxStreams: configuration.maxStreams, metricsFactory: metrics.factory)
        self.connections = ConnectionTracker()
        self.logger = logger
    }

    func nextConnectionID() -> Int {
        connectionIDs.add(1, ordering: .relaxed).newValue
    }
}
