import CanvasWireCore
import CanvasWireNATS
import CoreMetrics
import Logging
import NIOCore
import Synchronization

/// This server as a node of a cluster joined through NATS: it decides which node holds each
/// stream's publisher, publishes the streams it holds once for every other node, and feeds the
/// streams held elsewhere to its own viewers.
///
/// Sessions reach it through a few hooks (``claim(_:token:on:)``, ``release(_:holder:)``,
/// ``viewerAttached(_:to:)``, ``viewerDetached(_:from:)``); everything else happens on the NATS
/// connection's event loop, where each stream's ``StreamLink`` lives.
final class ClusterNode: @unchecked Sendable {
    let configuration: ClusterConfiguration
    private let registry: StreamRegistry
    private let limits: FrameLimits
    private let metricsFactory: any MetricsFactory
    private let logger: Logger
    private let makeCounters: @Sendable () -> ConnectionCounters
    private let running = Mutex<Running?>(nil)
    /// On the loop only.
    private var links: [StreamName: StreamLink] = [:]

    /// What exists once the node has joined.
    private struct Running: Sendable {
        let context: ClusterContext
        let kv: NATSKeyValue
        let claims: StreamClaims
        let claimsTask: Task<Void, Never>
        let eventsTask: Task<Void, Never>
        let heartbeat: RepeatedTask
    }

    init(
        configuration: ClusterConfiguration, registry: StreamRegistry, limits: FrameLimits,
        metricsFactory: any MetricsFactory, logger: Logger, makeCounters: @escaping @Sendable () -> ConnectionCounters
    ) {
        self.configuration = configuration
        self.registry = registry
        self.limits = limits
        self.metricsFactory = metricsFactory
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.nodeName)"
        self.logger = logger
        self.makeCounters = makeCounters
    }

    var nodeName: String { configuration.nodeName }

    // MARK: Joining and leaving

    /// Connects to NATS, opens (or creates) the claims bucket and starts the heartbeat.
    ///
    /// - Parameter eventLoop: Where the NATS connection and all of the cluster's state live.
    /// - Throws: ``ClusterError`` when the node name is invalid, no NATS server answers, or the
    ///   server has no JetStream.
    func start(eventLoop: any EventLoop) async throws(ClusterError) {
        guard ClusterConfiguration.isValidNodeName(nodeName) else { throw .invalidNodeName(nodeName) }
        let subjects = ClusterSubjects(prefix: configuration.subjectPrefix)
        let nats: NATSConnection
        let kv: NATSKeyValue
        do {
            nats = try await NATSConnection.connect(
                to: configuration.natsURLs, configuration: NATSConfiguration(name: "canvaswire-\(nodeName)"),
                logger: logger, eventLoopGroup: eventLoop
            )
            kv = try await NATSKeyValue.createBucket(.init(name: subjects.bucket, ttl: configuration.claimTTL), on: nats)
        } catch {
            throw .cannotJoin("\(error)")
        }
        let context = ClusterContext(
            nodeName: nodeName, configuration: configuration, subjects: subjects, nats: nats, registry: registry,
            limits: limits, metrics: ClusterMetrics(node: nodeName, factory: metricsFactory), logger: logger,
            makeCounters: makeCounters
        )
        let claims = StreamClaims()
        let claimsTask = Task { [registry, logger, nodeName] in
            await claims.run(
                kv: kv, subjects: subjects, nodeName: nodeName, registry: registry, logger: logger,
                census: { name in await WatcherCensus.take(of: name, cluster: context) },
                ownershipChanged: { name, owned, watchers, promise in
                    eventLoop.execute { self.ownershipChanged(name, owned: owned, watchers: watchers, then: promise) }
                }
            )
        }
        let eventsTask = Task {
            for await event in nats.events {
                if case .reconnected = event { eventLoop.execute { self.reconnected() } }
            }
        }
        let interval = TimeAmount(configuration.heartbeatInterval)
        let heartbeat = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            self.tick()
            claims.renew()
        }
        running.withLock {
            $0 = Running(context: context, kv: kv, claims: claims, claimsTask: claimsTask, eventsTask: eventsTask, heartbeat: heartbeat)
        }
        logger.info("joined the cluster", metadata: ["nats": "\(nats.serverInfo.serverName ?? nats.serverInfo.serverID)"])
    }

    /// Says goodbye to the origins this node watches, stops publishing, deletes this node's claims
    /// (so publishers elsewhere may take its streams at once) and closes the NATS connection.
    func shutdown() async {
        guard let running = running.withLock({ state in defer { state = nil }; return state }) else { return }
        running.heartbeat.cancel()
        try? await running.context.loop.submit {
            for link in self.links.values {
                link.feed?.stop()
                link.bridge?.stop()
            }
            self.links = [:]
        }.get()
        await running.claims.releaseAll()
        await running.claimsTask.value
        await running.context.nats.close()
        await running.eventsTask.value
    }

    // MARK: Hooks for sessions

    /// Asks for the cluster's one publisher slot of `name`.
    ///
    /// - Returns: A future on `eventLoop` that succeeds once this node holds the stream and fails
    ///   with ``ClusterError`` when another node holds it or the cluster is unreachable.
    func claim(_ name: StreamName, token: ClaimToken, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard let claims = running.withLock({ $0?.claims }) else {
            promise.fail(ClusterError.unreachable(stream: name.rawValue, reason: "the node has not joined the cluster"))
            return promise.futureResult
        }
        claims.claim(name, for: token, promise: promise)
        return promise.futureResult
    }

    /// The publisher that claimed `name` through `holder` left.
    func release(_ name: StreamName, holder: AnyObject) {
        running.withLock { $0?.claims }?.release(name, holder: ObjectIdentifier(holder))
    }

    func viewerAttached(_ viewer: ViewerSession, to stream: RelayStream) {
        onLoop { node, context in
            let link = node.link(stream.name)
            link.viewers[ObjectIdentifier(viewer)] = viewer
            link.stream = stream
            node.reconcile(link, context)
        }
    }

    func viewerDetached(_ viewer: ViewerSession, from stream: RelayStream) {
        onLoop { node, context in
            guard let link = node.links[stream.name] else { return }
            link.viewers[ObjectIdentifier(viewer)] = nil
            node.reconcile(link, context)
        }
    }

    /// The latest frame of `name` as the cluster has it: this node's own when it holds or watches the
    /// stream, otherwise fetched from the node that holds it (this node's copy, possibly left from
    /// an earlier run, when none answers).
    func latestFrame(_ name: StreamName) async -> Frame? {
        let local = registry.existingStream(named: name)?.latestFrame
        guard let context = running.withLock({ $0?.context }) else { return local }
        let current = try? await context.loop.submit { () -> Bool in
            guard let link = self.links[name] else { return false }
            return link.bridge != nil || link.feed != nil
        }.get()
        if current == true { return local }
        return await SnapshotRequest.fetch(name, cluster: context) ?? local
    }

    // MARK: Status

    /// Every stream the cluster knows of, from the claims bucket: which node holds it and whether
    /// its publisher is connected.
    func clusterStreams() async throws(ClusterError) -> [(name: StreamName, claim: StreamClaim)] {
        guard let kv = running.withLock({ $0?.kv }) else {
            throw .cannotJoin("the node has not joined the cluster")
        }
        var streams: [(StreamName, StreamClaim)] = []
        do {
            for key in try await kv.keys(timeout: .seconds(2)).sorted() {
                guard let name = ClusterSubjects.streamName(forToken: key), let entry = try await kv.get(key),
                    let claim = try? ClusterJSON.decode(StreamClaim.self, from: entry.value)
                else { continue }
                streams.append((name, claim))
            }
        } catch {
            throw .unreachable(stream: "*", reason: "\(error)")
        }
        return streams
    }

    /// Refreshes the node's NATS figures in the metrics registry, before `/metrics` is rendered.
    func recordMetrics() {
        guard let context = running.withLock({ $0?.context }) else { return }
        context.metrics.record(context.nats)
    }

    // MARK: On the loop

    private func onLoop(_ body: @escaping @Sendable (ClusterNode, ClusterContext) -> Void) {
        guard let context = running.withLock({ $0?.context }) else { return }
        context.loop.execute { body(self, context) }
    }

    private func link(_ name: StreamName) -> StreamLink {
        if let link = links[name] { return link }
        let link = StreamLink(name: name)
        links[name] = link
        return link
    }

    private func reconcile(_ link: StreamLink, _ context: ClusterContext) {
        link.reconcile(cluster: context)
        if link.isIdle { links[link.name] = nil }
    }

    /// The watchers found by the census are welcomed before the promise lets the publisher in.
    private func ownershipChanged(_ name: StreamName, owned: Bool, watchers: [MirrorReport], then promise: EventLoopPromise<Void>?) {
        if let context = running.withLock({ $0?.context }) {
            let link = link(name)
            link.owned = owned
            reconcile(link, context)
            for report in watchers { link.bridge?.heard(report) }
        }
        promise?.succeed()
    }

    private func tick() {
        let now = ContinuousClock.now
        for link in links.values {
            link.bridge?.tick(now: now)
            link.feed?.tick(now: now)
        }
    }

    private func reconnected() {
        for link in links.values {
            link.bridge?.reconnected()
            link.feed?.reconnected()
        }
    }
}
