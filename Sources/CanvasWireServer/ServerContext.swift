import CanvasWireCore
import CanvasWireWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// What every connection of one server shares.
final class ServerContext: Sendable {
    static let serverName = "canvaswire/0.1.0"
    /// Control messages are small; a longer text message on a stream endpoint is refused, not buffered.
    static let maxControlMessageBytes = 64 << 10
    /// The largest `?ack=N` a viewer may ask for: enough to keep any link busy with small frames, and
    /// a bound on the sequence numbers kept per viewer.
    static let maxAckWindow = 1024

    let configuration: ServerConfiguration
    let registry: StreamRegistry
    let metrics: ServerMetrics
    let connections: ConnectionTracker
    let deflaters = DeflaterPool()
    let logger: Logger
    /// This server as a node of a cluster; `nil` unless the configuration asks for one.
    let cluster: ClusterNode?
    private let connectionIDs: ConnectionIDs

    init(configuration: ServerConfiguration, logger: Logger) {
        let metrics = ServerMetrics()
        let registry = StreamRegistry(
            maxStreams: configuration.maxStreams, idleTimeout: configuration.streamIdleTimeout, deflate: configuration.deflate,
            metricsFactory: metrics.factory
        )
        let ids = ConnectionIDs()
        self.configuration = configuration
        self.metrics = metrics
        self.registry = registry
        self.connections = ConnectionTracker()
        self.logger = logger
        self.connectionIDs = ids
        self.cluster = configuration.cluster.map { cluster in
            ClusterNode(
                configuration: cluster, registry: registry, limits: configuration.limits, metricsFactory: metrics.factory,
                logger: logger, makeCounters: { ConnectionCounters(id: ids.next()) }
            )
        }
    }

    func nextConnectionID() -> Int {
        connectionIDs.next()
    }

    /// How every WebSocket connection of this server applies RFC 6455: it is the server side, pings a
    /// quiet peer every ping interval and closes one silent for the dead-peer timeout.
    var endpointConfiguration: WebSocketEndpointHandler.Configuration {
        WebSocketEndpointHandler.Configuration(
            endpoint: WebSocketEndpoint.Configuration(role: .server, deadPeerTimeout: TimeAmount(configuration.deadPeerTimeout)),
            pingInterval: TimeAmount(configuration.pingInterval),
            closeTimeout: TimeAmount(configuration.closeTimeout)
        )
    }

    /// permessage-deflate as this server agrees it to a client's offer, with the response header
    /// value; `nil` when the client offered nothing acceptable or the server does not agree.
    ///
    /// With `--deflate auto` a publisher is not agreed with: a browser then compresses every frame it
    /// sends, whatever the link, and headless Chromium publishing 1920x1080 canvas frames dropped from
    /// 47.6 to 25.4 frames/s on screen content and from 46.3 to 5.1 on noise (tools/bench/browser-publish).
    /// Publishers on slow links send deltas instead, or use a server with `--deflate on`.
    func deflateAgreement(for head: HTTPRequestHead, role: SessionRole) -> (agreement: PerMessageDeflate, response: String)? {
        if case .publisher = role, configuration.deflate != .on { return nil }
        guard configuration.deflate != .off,
            let offers = WebSocketExtensionOffer.parse(head.headers[canonicalForm: "sec-websocket-extensions"].map(String.init))
        else { return nil }
        return PerMessageDeflate.accept(offers)
    }

    /// Why a new stream cannot be served; the limit is checked again when the connection opens.
    var tooManyStreams: String {
        "the server already has its maximum of \(configuration.maxStreams) streams; try again when one has been unused for \(configuration.streamIdleTimeout)"
    }

    /// The hello that opens a connection to `stream`; `policy` is `nil` for a publisher.
    func hello(
        stream: RelayStream, size: FrameSize?, run: (id: String, state: RunState)?, policy: DeliveryPolicy?,
        encoding: ViewerEncoding? = nil, ack: Int? = nil
    ) -> ControlMessage.Hello {
        .init(
            role: policy == nil ? "publisher" : "viewer",
            stream: stream.name.rawValue,
            size: size,
            run: run?.id,
            runState: run?.state,
            policy: policy,
            encoding: encoding,
            limits: configuration.limits,
            highWaterMark: configuration.highWaterMark,
            ack: ack,
            server: Self.serverName
        )
    }
}
