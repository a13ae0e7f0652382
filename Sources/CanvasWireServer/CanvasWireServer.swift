import CanvasWireCore
import CanvasWireWebSocket
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// The CanvasWire relay: named streams, publishers, viewers, the browser pages and the HTTP endpoints.
///
/// ```swift
/// let server = CanvasWireServer(configuration: .init(port: 0), logger: logger)
/// try await server.start()
/// print(server.port!)
/// try await server.waitUntilStopped()   // until shutdown() is called
/// ```
public final class CanvasWireServer: Sendable {
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(State())

    private struct State {
        var channel: (any Channel)?
        var demo: DemoPublisher?
        var expiry: RepeatedTask?
        var stopped: EventLoopPromise<Void>?
    }

    /// - Parameters:
    ///   - configuration: Address, limits and policies.
    ///   - logger: Where the server logs connections, refusals and errors.
    ///   - threads: Event loop threads; `nil` means one per core.
    public init(configuration: ServerConfiguration, logger: Logger, threads: Int? = nil) {
        self.context = ServerContext(configuration: configuration, logger: logger)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
    }

    /// The port the server listens on, once started (useful with port 0).
    public var port: Int? {
        state.withLock { $0.channel?.localAddress?.port }
    }

    /// Joins the cluster when configured, binds the listening socket and starts the demo stream.
    ///
    /// - Throws: When the address cannot be bound (for example, the port is in use), TLS is
    ///   misconfigured, or the cluster cannot be joined (``ClusterError``).
    public func start() async throws {
        let configuration = context.configuration
        let sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        let context = self.context
        // Before the first connection: every publisher in a cluster needs its claim.
        try await context.cluster?.start(eventLoop: group.next())
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // One read per wake-up: NIO keeps reading up to this many buffers even after a handler
            // turned autoRead off, so a publisher paused by a lossless viewer would still push up to
            // that many more MiB into memory. Measured: S2 peak RSS 53 -> 42 MB, throughput unchanged.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4 << 10, maximum: 1 << 20)
            )
            .childChannelInitializer { channel in
                Self.initialize(channel, context: context, sslContext: sslContext)
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            await context.cluster?.shutdown()
            throw error
        }
        let stopped = group.next().makePromise(of: Void.self)
        var demo: DemoPublisher?
        if let demoConfiguration = configuration.demoStream,
            let stream = context.registry.checkOut(demoConfiguration.name)
        {
            demo = DemoPublisher(
                stream: stream, configuration: demoConfiguration, eventLoop: group.next(), id: context.nextConnectionID(),
                cluster: context.cluster
            )
        }
        // Unused streams are forgotten by a sweep rather than a timer per stream: it also catches a stream
        // whose connection failed before it held it, and costs one pass over at most maxStreams a second.
        let registry = context.registry
        let expiry = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            registry.expireIdle()
        }
        state.withLock {
            $0.channel = channel
            $0.demo = demo
            $0.expiry = expiry
            $0.stopped = stopped
        }
        context.logger.info(
            "canvaswire serving",
            metadata: [
                "address": "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(channel.localAddress?.port ?? 0)"
            ]
        )
    }

    /// Suspends until ``shutdown()`` has finished.
    public func waitUntilStopped() async throws {
        guard let stopped = state.withLock({ $0.stopped }) else { return }
        try await stopped.futureResult.get()
    }

    /// Stops accepting connections, sends close 1001 to every client, lets in-flight writes finish
    /// (for at most `gracePeriod`), leaves the cluster (its streams are free for other nodes at
    /// once), then releases the event loops.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let (channel, demo, expiry, stopped) = state.withLock { state in
            defer { state = State() }
            return (state.channel, state.demo, state.expiry, state.stopped)
        }
        expiry?.cancel()
        guard let channel else { return }
        context.logger.info("shutting down: closing \(context.connections.count) connections")
        demo?.stop()
        try? await channel.close()
        try? await context.connections.closeAll(on: group.next(), timeout: TimeAmount(gracePeriod)).get()
        await context.cluster?.shutdown()
        stopped?.succeed()
        try? await group.shutdownGracefully()
    }

    /// What the connection does, as the delegate of its WebSocket endpoint. A viewer's socket options
    /// are set here, once its role is known: a publisher's socket mostly receives, and keeps the defaults.
    private static func session(
        for role: SessionRole, channel: any Channel, context: ServerContext, logger: Logger
    ) throws -> any WebSocketEndpointDelegate {
        switch role {
        case .publisher(let name, let bareSize, let run):
            return PublisherSession(
                stream: name, bareSize: bareSize, continuing: run, server: context, eventLoop: channel.eventLoop, logger: logger
            )
        case .viewer(let name, let policy, let encoding, let ackWindow):
            let socket = try context.configuration.viewerSocket.apply(to: channel)
            return ViewerSession(
                stream: name, policy: policy, encoding: encoding, ackWindow: ackWindow, socket: socket, server: context,
                eventLoop: channel.eventLoop, logger: logger
            )
        case .echo:
            return EchoSession(server: context)
        }
    }

    private static func initialize(
        _ channel: any Channel, context: ServerContext, sslContext: NIOSSLContext?
    ) -> EventLoopFuture<Void> {
        let configuration = context.configuration
        guard context.connections.admit(channel, limit: configuration.maxConnections) else {
            context.logger.warning("refusing connection: \(configuration.maxConnections) connections are open already")
            return channel.close()
        }
        let handshake = HandshakeDeadline(channel: channel, timeout: TimeAmount(configuration.handshakeTimeout))
        let decision = UpgradeDecision(server: context)
        // A frame may carry a whole message: the largest payload plus room for a header.
        let maxFrameSize = min(Int(UInt32.max), configuration.limits.maxPayloadBytes + (64 << 10))
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            // Framing errors are the session's to answer: it closes with the code the error carries.
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                switch decision.evaluate(head) {
                case .success(let role):
                    var headers = HTTPHeaders()
                    if let (_, response) = context.deflateAgreement(for: head, role: role) {
                        headers.add(name: "Sec-WebSocket-Extensions", value: response)
                    }
                    return channel.eventLoop.makeSucceededFuture(headers)
                case .failure:
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
            },
            upgradePipelineHandler: { channel, head in
                guard case .success(let role) = decision.evaluate(head) else {
                    return channel.close()
                }
                var peerLogger = context.logger
                peerLogger[metadataKey: "peer"] = "\(channel.remoteAddress?.description ?? "?")"
                let logger = peerLogger
                // Incoming frames are decoded without gathering them (see IncrementalFrameDecoder), so
                // the upgrader's decoder is swapped out. It has seen no bytes: the upgrade handler holds
                // whatever arrives until the future returned here completes.
                do {
                    let pipeline = channel.pipeline.syncOperations
                    let nioDecoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                    return pipeline.removeHandler(nioDecoder).flatMapThrowing {
                        let session = try Self.session(for: role, channel: channel, context: context, logger: logger)
                        var endpointConfiguration = context.endpointConfiguration
                        endpointConfiguration.deflate = context.deflateAgreement(for: head, role: role)?.agreement
                        try channel.pipeline.syncOperations.addHandlers(
                            IncrementalFrameDecoder(maxFrameSize: maxFrameSize),
                            WebSocketEndpointHandler(configuration: endpointConfiguration, delegate: session, logger: logger)
                        )
                    }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        )
        do {
            if let sslContext {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
            }
            let sync = channel.pipeline.syncOperations
            let httpHandler = HTTPHandler(server: context, handshake: handshake)
            // The WebSocket codec is appended behind the HTTP handler, so the HTTP handler must leave
            // the pipeline as part of the upgrade, before any WebSocket bytes are forwarded.
            let upgraded: @Sendable (ChannelHandlerContext) -> Void = { upgradeContext in
                handshake.cancel()
                upgradeContext.pipeline.syncOperations.removeHandler(httpHandler, promise: nil)
            }
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withServerUpgrade: (upgraders: [upgrader], completionHandler: upgraded),
                withErrorHandling: true
            )
            try sync.addHandler(httpHandler)
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }
}
