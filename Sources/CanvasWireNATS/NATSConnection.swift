import Logging
public import NIOCore
import Synchronization

/// A connection to a NATS cluster that survives the loss of a server: it reconnects to the next URL
/// on its own and subscribes again with the same subscription ids.
///
/// Everything can be called from any thread. Publishing never waits and never buffers while
/// disconnected: it fails at once with ``NATSError/isNotConnected``, so the caller decides what to
/// drop; ``pendingOutboundBytes`` tells how far its writes are behind the socket. Subscription
/// handlers run on the connection's event loop and must not block it.
///
/// ```swift
/// let nats = try await NATSConnection.connect(to: ["nats://127.0.0.1:4222"], logger: logger)
/// let subscription = try nats.subscribe(to: "frames.cam") { message in relay(message.payload) }
/// try nats.publish(frame, to: "frames.cam")
/// let reply = try await nats.request(ByteBuffer(string: "hi"), to: "service")
/// await nats.close()
/// ```
public final class NATSConnection: Sendable {
    /// What happened to the connection, for logs and for a relay that must know when it is cut off.
    public enum Event: Sendable, Equatable {
        /// The connection to a server was lost; publishing fails until ``reconnected(server:)``.
        case disconnected(reason: String)
        /// Connected again, to `server`, with every live subscription renewed.
        case reconnected(server: String)
        /// A `-ERR` from the server, with its text (for example `Permissions Violation ...`).
        case serverError(String)
        /// Closed for good: by ``close()``, or after ``NATSConfiguration/maxReconnectAttempts``.
        case closed
    }

    /// Bookkeeping shared by every thread; never held while calling out or waiting.
    struct State {
        var link: (channel: any Channel, handler: NATSChannelHandler)?
        var info: NATSServerInfo?
        var closed = false
        var subscriptions: [Int: SubscriptionEntry] = [:]
    }

    /// The event loop the connection runs on: subscription handlers run here, and a caller that
    /// keeps its own state here reaches the connection without hopping threads.
    public let eventLoop: any EventLoop
    let configuration: NATSConfiguration
    let logger: Logger
    let servers: [NATSURL]
    let state = Mutex(State())
    let lifecycle: NIOLoopBoundBox<Lifecycle>
    let requests = RequestMux()
    private let pendingBytes = Atomic<Int>(0)
    let counters = NATSCounters()
    private let nextSid = Atomic<Int>(1)
    let eventsContinuation: AsyncStream<Event>.Continuation

    /// Connection events, oldest first; the newest 64 are kept for a reader that is behind. Iterate
    /// from one task only.
    public let events: AsyncStream<Event>

    init(servers: [NATSURL], configuration: NATSConfiguration, logger: Logger, eventLoop: any EventLoop) {
        self.servers = servers
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = eventLoop
        let backoff = ReconnectBackoff(
            serverCount: servers.count,
            initialDelay: configuration.reconnectDelay,
            maxDelay: configuration.maxReconnectDelay
        )
        lifecycle = .makeBoxSendingValue(Lifecycle(backoff: backoff), eventLoop: eventLoop)
        (events, eventsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(64))
    }

    /// The `INFO` of the server this connection is on (or was on last).
    public var serverInfo: NATSServerInfo {
        state.withLock { $0.info! }  // set before connect(to:) returns
    }

    /// Whether a server is connected right now; while not, publishing fails at once.
    public var isConnected: Bool {
        state.withLock { $0.link != nil }
    }

    /// Bytes handed to ``publish(_:to:replyTo:headers:)`` (protocol lines included) and not yet
    /// written to the socket: the connection's `bufferedAmount`. A relay stops handing frames to
    /// NATS while this is above its high-water mark, as it does for a slow WebSocket viewer.
    public var pendingOutboundBytes: Int {
        pendingBytes.load(ordering: .relaxed)
    }

    /// Statistics of everything this connection has sent and received so far.
    public var statistics: NATSStatistics { counters.snapshot }

    /// Hands a message to the connection without copying `payload`, and returns at once.
    ///
    /// - Parameters:
    ///   - payload: The message body; written to the socket as it is.
    ///   - subject: Where to publish.
    ///   - replyTo: Where answers should go.
    ///   - headers: Sent with `HPUB` when present.
    /// - Throws: ``NATSError`` when disconnected (nothing is buffered: drop or retry), when the
    ///   message (headers included) is larger than the server's ``NATSServerInfo/maxPayload``, or
    ///   when a subject or header would not survive on the wire.
    public func publish(
        _ payload: ByteBuffer, to subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil
    ) throws(NATSError) {
        try publish(prefix: nil, payload, to: subject, replyTo: replyTo, headers: headers)
    }

    /// Publishes one message whose body is `prefix` followed by `payload`, written as two buffers
    /// so neither is copied: a relay puts a small envelope in front of a slice of a frame that
    /// many subscribers share.
    ///
    /// - Parameters:
    ///   - prefix: The first bytes of the body.
    ///   - payload: The rest of the body.
    ///   - subject: Where to publish.
    ///   - replyTo: Where answers should go.
    ///   - headers: Sent with `HPUB` when present.
    /// - Throws: As ``publish(_:to:replyTo:headers:)``; the limit applies to both parts together.
    public func publish(
        prefix: ByteBuffer?, _ payload: ByteBuffer, to subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil
    ) throws(NATSError) {
        let bodyBytes = (prefix?.readableBytes ?? 0) + payload.readableBytes
        let (head, headerBytes) = try NATSCommand.publishHead(
            subject: subject, replyTo: replyTo, headers: headers, payloadBytes: bodyBytes
        )
        let (channel, maxPayload) = state.withLock { ($0.link?.channel, $0.info?.maxPayload ?? 0) }
        guard let channel else { throw .notConnected }
        guard headerBytes + bodyBytes <= maxPayload else {
            throw .payloadTooLarge(bytes: headerBytes + bodyBytes, maxPayload: maxPayload)
        }
        let bytes = head.readableBytes + bodyBytes + NATSCommand.crlf.readableBytes
        pendingBytes.add(bytes, ordering: .relaxed)
        counters.messagesOut.add(1, ordering: .relaxed)
        counters.bytesOut.add(UInt64(bodyBytes), ordering: .relaxed)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in self.written(bytes) }
        channel.writeAndFlush(NATSOutbound.publish(head: head, prefix: prefix, payload: payload), promise: written)
    }

    /// Counts a message the server delivered, before it reaches its subscription.
    func countReceived(_ message: NATSMessage) {
        counters.messagesIn.add(1, ordering: .relaxed)
        counters.bytesIn.add(UInt64(message.payload.readableBytes), ordering: .relaxed)
    }

    /// Suspends until ``pendingOutboundBytes`` is at most `threshold`, for a publisher that must not
    /// lose messages and paces itself on the socket, as a browser does on `bufferedAmount`. When
    /// the connection is lost its pending writes fail, so this returns and the next publish says why.
    public func waitForPendingOutboundBytes(atMost threshold: Int) async {
        try? await pendingOutboundBytesDrained(atMost: threshold).get()
    }

    /// A future that succeeds on the connection's event loop once ``pendingOutboundBytes`` is at
    /// most `threshold` (at once if it is already), for code that lives on that loop and must not
    /// suspend: a relay resumes a paused stream from it. Lost writes count as drained.
    public func pendingOutboundBytesDrained(atMost threshold: Int) -> EventLoopFuture<Void> {
        let drained = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            if self.pendingOutboundBytes <= threshold {
                drained.succeed()
            } else {
                self.lifecycle.value.drainWaiters.append((threshold, drained))
            }
        }
        return drained.futureResult
    }

    /// Called on the event loop when a publish has been written, or has failed.
    private func written(_ bytes: Int) {
        let pending = pendingBytes.subtract(bytes, ordering: .relaxed).newValue
        guard !lifecycle.value.drainWaiters.isEmpty else { return }
        let ready = lifecycle.value.drainWaiters.filter { pending <= $0.threshold }
        lifecycle.value.drainWaiters.removeAll { pending <= $0.threshold }
        for waiter in ready { waiter.promise.succeed() }
    }

    /// Subscribes `handler` to `subject` (wildcards `*` and `>` allowed).
    ///
    /// The handler runs on the connection's event loop for each message, in order; it must hand the
    /// message on without blocking, since no other message of this connection is read meanwhile.
    /// While disconnected the subscription is kept and sent when the connection is back. Call
    /// ``flush(timeout:)`` when a publisher elsewhere must not start before the server knows it.
    ///
    /// - Parameters:
    ///   - subject: What to receive.
    ///   - queueGroup: Subscribers sharing a queue group share its messages: each goes to one of them.
    ///   - handler: Called with each message on the event loop.
    public func subscribe(
        to subject: String, queueGroup: String? = nil, handler: @escaping @Sendable (NATSMessage) -> Void
    ) throws(NATSError) -> NATSSubscription {
        try subscribe(to: subject, queueGroup: queueGroup, deliver: handler, finish: {})
    }

    /// Subscribes to `subject` and returns its messages as an `AsyncSequence`, for requests, tests
    /// and consumers that are not on a hot path. Iterate from one task; cancelling that task or
    /// ``NATSSubscription/unsubscribe()`` ends it (leaving a `for` loop with `break` does not).
    /// Messages beyond ``NATSConfiguration/streamBufferMessages`` waiting for the consumer are
    /// dropped and counted (``NATSMessageStream/droppedMessages``), never buffered without bound.
    public func subscribe(to subject: String, queueGroup: String? = nil) throws(NATSError) -> NATSMessageStream {
        let (stream, continuation) = AsyncStream.makeStream(
            of: NATSMessage.self, bufferingPolicy: .bufferingOldest(configuration.streamBufferMessages)
        )
        let counter = NATSMessageStream.DropCounter()
        let subscription = try subscribe(
            to: subject, queueGroup: queueGroup,
            deliver: { message in
                if case .dropped = continuation.yield(message) { counter.count.add(1, ordering: .relaxed) }
            },
            finish: { continuation.finish() }
        )
        continuation.onTermination = { _ in subscription.unsubscribe() }
        return NATSMessageStream(subscription: subscription, stream: stream, dropCounter: counter)
    }

    func subscribe(
        to subject: String, queueGroup: String?,
        deliver: @escaping @Sendable (NATSMessage) -> Void, finish: @escaping @Sendable () -> Void
    ) throws(NATSError) -> NATSSubscription {
        let sid = nextSid.wrappingAdd(1, ordering: .relaxed).oldValue
        let command = try NATSCommand.subscribe(subject: subject, queueGroup: queueGroup, sid: sid)
        let entry = SubscriptionEntry(subject: subject, queueGroup: queueGroup, deliver: deliver, finish: finish)
        let channel = try state.withLock { (state) throws(NATSError) in
            guard !state.closed else { throw NATSError.closed }
            state.subscriptions[sid] = entry
            return state.link?.channel
        }
        channel?.writeAndFlush(NATSOutbound.bytes(command), promise: nil)
        return NATSSubscription(connection: self, sid: sid, subject: subject)
    }

    /// Waits until the server has processed everything this connection sent before: a `PING` and
    /// its `PONG`.
    ///
    /// - Throws: ``NATSError`` when disconnected, or when the `PONG` does not come within `timeout`
    ///   (``NATSConfiguration/requestTimeout`` by default).
    public func flush(timeout: Duration? = nil) async throws(NATSError) {
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            guard let handler = self.state.withLock({ $0.link?.handler }) else {
                return promise.fail(NATSError.notConnected)
            }
            handler.ping(promise)
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout ?? configuration.requestTimeout)) {
            promise.fail(NATSError.timeout("PING (flush)"))
        }
        defer { timer.cancel() }
        do {
            try await promise.futureResult.get()
        } catch {
            throw error as? NATSError ?? .connectionLost("\(error)")
        }
    }

    /// Sends `payload` to `subject` with a reply subject of this connection's inbox and waits for
    /// the first answer.
    ///
    /// - Parameters:
    ///   - timeout: How long to wait; ``NATSConfiguration/requestTimeout`` by default.
    /// - Throws: ``NATSError``: ``NATSError/isNoResponders`` when nothing subscribes to `subject`,
    ///   ``NATSError/isTimeout`` when no answer came in time, or the errors of ``publish(_:to:replyTo:headers:)``.
    public func request(
        _ payload: ByteBuffer, to subject: String, headers: NATSHeaders? = nil, timeout: Duration? = nil
    ) async throws(NATSError) -> NATSMessage {
        let promise = eventLoop.makePromise(of: NATSMessage.self)
        let replyTo = requests.register(promise)
        do {
            try publish(payload, to: subject, replyTo: replyTo, headers: headers)
        } catch {
            requests.fail(replyTo, error)
            throw error
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout ?? configuration.requestTimeout)) { [requests] in
            requests.fail(replyTo, .timeout("request to \(subject)"))
        }
        defer { timer.cancel() }
        let reply: NATSMessage
        do {
            reply = try await promise.futureResult.get()
        } catch {
            throw error as? NATSError ?? .connectionLost("\(error)")
        }
        guard !reply.isNoRespondersStatus else { throw .noResponders(subject: subject) }
        return reply
    }

    /// A subject no other client uses, `_INBOX.` and 22 random letters and digits (131 bits), for
    /// replies and deliveries meant for this client alone.
    public static func newInbox() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return "_INBOX." + String((0..<22).map { _ in alphabet.randomElement()! })
    }
}
