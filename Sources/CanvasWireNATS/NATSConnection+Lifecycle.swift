public import Logging
public import NIOCore
import NIOPosix
import Synchronization

extension NATSConnection {
    /// Connecting, reconnecting and closing, confined to the connection's event loop.
    struct Lifecycle {
        var backoff: ReconnectBackoff
        /// The next attempt, while waiting for its delay. Cleared when it starts: a `Scheduled` holds
        /// its closure, which holds this connection.
        var pendingAttempt: Scheduled<Void>?
        /// The caller of ``connect(to:configuration:logger:eventLoopGroup:)`` until the first server answers.
        var initial: EventLoopPromise<Void>?
        /// Why each server of the first round failed, for the error if all of them do.
        var initialFailures: [String] = []
        /// Callers of ``close()`` waiting for the socket to close.
        var closeWaiters: [EventLoopPromise<Void>] = []
        /// Callers of ``waitForPendingOutboundBytes(atMost:)``, with their thresholds.
        var drainWaiters: [(threshold: Int, promise: EventLoopPromise<Void>)] = []
        /// Whether the `closed` event has been sent.
        var finished = false
    }

    /// Connects to the first of `urls` that answers (each is tried once) and stays connected: when
    /// a server is lost, it tries the next URL, round robin, with a capped exponential backoff.
    ///
    /// - Parameters:
    ///   - urls: `nats://host:port` of the cluster's servers; the port defaults to 4222.
    ///   - configuration: Timeouts, keep-alive and reconnect policy.
    ///   - logger: Where connects, losses and server errors are logged.
    ///   - eventLoopGroup: Where the connection runs; `nil` uses NIO's shared singleton group. The
    ///     connection stays on one event loop of it, where subscription handlers run.
    /// - Throws: ``NATSError`` when a URL is malformed, or no server answered (the error names each
    ///   URL's reason, for example `-ERR 'Authorization Violation'`).
    public static func connect(
        to urls: [String],
        configuration: NATSConfiguration = .init(),
        logger: Logger,
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws(NATSError) -> NATSConnection {
        guard !urls.isEmpty else { throw .invalidArgument("no NATS server URL given") }
        var servers: [NATSURL] = []
        for url in urls { servers.append(try NATSURL(url)) }
        let eventLoop = (eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton).next()
        let connection = NATSConnection(servers: servers, configuration: configuration, logger: logger, eventLoop: eventLoop)
        // The request inbox is an ordinary subscription, so it is renewed with the others.
        let requests = connection.requests
        _ = try connection.subscribe(to: requests.subscriptionSubject, queueGroup: nil, deliver: requests.complete, finish: {})
        let connected = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            connection.lifecycle.value.initial = connected
            connection.scheduleAttempt()
        }
        do {
            try await connected.futureResult.get()
        } catch {
            throw error as? NATSError ?? .connectionFailed("\(error)")
        }
        return connection
    }

    /// Flushes what was sent (waiting up to a second), closes the connection for good and ends
    /// every subscription, request and event stream.
    public func close() async {
        try? await flush(timeout: min(configuration.requestTimeout, .seconds(1)))
        let closed = eventLoop.makePromise(of: Void.self)
        eventLoop.execute { self.beginClose(closed) }
        try? await closed.futureResult.get()
    }

    private func beginClose(_ closed: EventLoopPromise<Void>) {
        lifecycle.value.pendingAttempt?.cancel()
        lifecycle.value.pendingAttempt = nil
        lifecycle.value.initial?.fail(NATSError.closed)
        lifecycle.value.initial = nil
        guard let link = markClosed() else { return finishClose(closed) }
        lifecycle.value.closeWaiters.append(closed)
        link.channel.close(promise: nil)
    }

    /// Stops reconnecting and ends every subscription and waiting request; returns the live link,
    /// if any, for the caller to close.
    private func markClosed() -> (channel: any Channel, handler: NATSChannelHandler)? {
        let (link, subscriptions) = state.withLock { state in
            state.closed = true
            defer { state.subscriptions = [:] }
            return (state.link, state.subscriptions)
        }
        requests.failAll(.closed)
        for subscription in subscriptions.values { subscription.finish() }
        return link
    }

    private func finishClose(_ closed: EventLoopPromise<Void>? = nil) {
        closed?.succeed()
        if !lifecycle.value.finished {
            lifecycle.value.finished = true
            logger.info("NATS connection closed")
            eventsContinuation.yield(.closed)
            eventsContinuation.finish()
        }
        for waiter in lifecycle.value.closeWaiters { waiter.succeed() }
        lifecycle.value.closeWaiters = []
    }

    /// Starts the next attempt after its delay.
    func scheduleAttempt() {
        let (server, delay) = lifecycle.value.backoff.nextAttempt(jitter: .random(in: 0...1))
        lifecycle.value.pendingAttempt = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
            self.open(server: server)
        }
    }

    private func open(server: Int) {
        lifecycle.value.pendingAttempt = nil
        guard !state.withLock({ $0.closed }) else { return }
        let url = servers[server]
        let handler = NATSChannelHandler(connection: self, server: server)
        // NIO's default receive allocator (reads of up to 64 KiB) is kept, so a 1 MiB message is
        // gathered once from 16 reads. Reads of up to 1 MiB, as the WebSocket client uses, measured
        // the same (median 762 against 773 MB/s, tools/bench/nats): nats-server is the bottleneck,
        // with 1.2 of the 2 cores against 0.24 for both client connections; and small reads keep a
        // message slice from pinning a 1 MiB read buffer.
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: url.host, port: url.port)
            .assumeIsolated()
            .whenFailure { error in
                // A channel that connected reports its own end through the handler.
                self.attemptFailed(server: server, reason: .connectionFailed("\(error)"))
            }
    }

    /// Called by the handler once its server has accepted `CONNECT`.
    func linkReady(_ handler: NATSChannelHandler, channel: any Channel, info: NATSServerInfo) {
        let subscriptions = state.withLock { state -> [Int: SubscriptionEntry]? in
            guard !state.closed else { return nil }
            state.link = (channel, handler)
            state.info = info
            for sid in state.subscriptions.keys { state.subscriptions[sid]!.deliveredBeforeLink = state.subscriptions[sid]!.delivered }
            return state.subscriptions
        }
        guard let subscriptions else { return channel.close(promise: nil) }
        for (sid, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) {
            for command in subscription.commands(sid: sid) {
                channel.write(NATSOutbound.bytes(command), promise: nil)
            }
        }
        channel.flush()
        lifecycle.value.backoff.connected(to: handler.server)
        let url = servers[handler.server].description
        logger.info("connected to NATS", metadata: ["server": "\(url)", "server_id": "\(info.serverID)"])
        if let initial = lifecycle.value.initial {
            lifecycle.value.initial = nil
            initial.succeed()
        } else {
            counters.reconnects.add(1, ordering: .relaxed)
            eventsContinuation.yield(.reconnected(server: url))
        }
    }

    /// Called by the handler of a connection that had been ready when its channel closed.
    func linkLost(_ handler: NATSChannelHandler, reason: NATSError) {
        let closed = state.withLock { state in
            if state.link?.handler === handler { state.link = nil }
            return state.closed
        }
        requests.failAll(closed ? .closed : .connectionLost(reason.shortReason))
        guard !closed else { return finishClose() }
        logger.warning("lost the NATS connection", metadata: ["reason": "\(reason.shortReason)"])
        eventsContinuation.yield(.disconnected(reason: reason.shortReason))
        scheduleAttempt()
    }

    /// Called when connecting to `server` failed, or the connection ended before it was ready.
    func attemptFailed(server: Int, reason: NATSError) {
        guard !state.withLock({ $0.closed }) else { return finishClose() }
        lifecycle.value.backoff.failed()
        let failures = lifecycle.value.backoff.failures
        if let initial = lifecycle.value.initial {
            lifecycle.value.initialFailures.append("\(servers[server]): \(reason.shortReason)")
            guard failures < servers.count else {
                lifecycle.value.initial = nil
                _ = markClosed()
                let summary = lifecycle.value.initialFailures.joined(separator: "; ")
                initial.fail(NATSError.connectionFailed(summary, last: reason))
                return finishClose()
            }
        } else if let limit = configuration.maxReconnectAttempts, failures >= limit {
            logger.error("giving up on NATS after \(failures) failed attempts", metadata: ["reason": "\(reason)"])
            _ = markClosed()
            return finishClose()
        } else {
            logger.debug("NATS connection attempt failed", metadata: ["reason": "\(reason)"])
        }
        scheduleAttempt()
    }

    func infoUpdated(_ info: NATSServerInfo) {
        state.withLock { $0.info = info }
    }

    func serverReported(_ text: String) {
        logger.warning("nats-server reported an error", metadata: ["error": "\(text)"])
        eventsContinuation.yield(.serverError(text))
    }
}
