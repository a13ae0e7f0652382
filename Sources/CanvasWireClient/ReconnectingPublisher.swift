public import CanvasWireCore
import Synchronization

/// Publishes frames in order over one logical stream that survives reconnects.
///
/// Frames are handed over only while the connection's `bufferedAmount` is at most the threshold. When
/// a connection fails, the publisher reconnects with exponential backoff (250 ms doubling to
/// ``Configuration/maxBackoff``, ±20 % jitter), asks the server to continue its run (`?run=ID`, the
/// run the last hello named), so a receiver saving that run carries on, and first sends again, with
/// their original sequence numbers, the frames the failed connection took but never wrote to its
/// socket, so a viewer misses nothing it could have been sent.
///
/// With ``Configuration/deltas`` it sends each frame as a delta of the tiles that changed since the
/// frame before wherever that is smaller (pixel format 3), and whole first, after a size change and on
/// every new connection, whose server side holds no frame of it yet; resent frames are encoded again.
///
/// Only transient failures are retried (``WebSocketClientError/isTransient``: nothing listening yet,
/// a lost connection, HTTP 503, close 1001 or 1013, ...), and only for
/// ``Configuration/retryFor`` without a successful connection; then the publisher gives up. Failures
/// that another attempt cannot fix (an invalid stream name, HTTP 401, close 1008, ...) are thrown at
/// once.
///
/// Cancelling the calling task stops it: the connection closes with 1001 after the frames already
/// handed to it are written, no reconnect is tried, and the call throws `CancellationError`.
///
/// ```swift
/// var publisher = ReconnectingPublisher(url: try WebSocketURL("ws://127.0.0.1:8080/streams/cam/publish"))
/// for frame in frames { try await publisher.publish(frame.header, payload: frame.pixels) }
/// let closed = try await publisher.finish(lastSequence: lastSequence)
/// ```
public struct ReconnectingPublisher {
    /// How to connect, pace and recover.
    public struct Configuration: Sendable {
        /// Token, TLS and limits of every connection.
        public var client: WebSocketClientConfiguration
        /// Hand over the next frame only while `bufferedAmount` is at most this many bytes.
        public var threshold: Int
        /// Whether a lost connection is replaced; without it the first failure is thrown.
        public var reconnects: Bool
        /// The longest wait between two attempts.
        public var maxBackoff: Duration
        /// How long transient failures are retried without a successful connection before the
        /// publisher gives up; zero retries nothing.
        public var retryFor: Duration
        /// The close reason sent with 1001 when the calling task is cancelled.
        public var stopReason: String
        /// Whether RGBA8 frames go out as deltas (only the tiles that changed) wherever that is
        /// smaller: for screen-like content a few percent of the bytes, for about 1 ms of this side's
        /// CPU per 1080p frame.
        public var deltas: Bool

        /// - Parameters: see the properties; the defaults are `canvaswire send`'s.
        public init(
            client: WebSocketClientConfiguration = .init(), threshold: Int = 8 << 20, reconnects: Bool = true,
            maxBackoff: Duration = .seconds(5), retryFor: Duration = .seconds(60), stopReason: String = "publisher stopped",
            deltas: Bool = false
        ) {
            self.client = client
            self.threshold = threshold
            self.reconnects = reconnects
            self.maxBackoff = maxBackoff
            self.retryFor = retryFor
            self.stopReason = stopReason
            self.deltas = deltas
        }
    }

    /// What ``publish(_:payload:)`` handed to the connection for a frame.
    public struct Sent: Sendable {
        /// ``PixelFormat/rgba8Delta`` when only the tiles that changed went, otherwise the frame's own.
        public var pixelFormat: PixelFormat
        /// Bytes of the message, header included.
        public var bytes: Int
    }

    /// A failed attempt that is about to be retried, for a log line or a progress display.
    public struct Retry: Sendable {
        /// Why the connection failed or could not be made; always transient.
        public var error: WebSocketClientError
        /// Failed attempts since the last successful connection (or the start): 1, 2, ...
        public var attempt: Int
        /// Whether this publisher was connected before, so a working connection was lost; `false`
        /// while its first connection is still being made.
        public var wasConnected: Bool
        /// How much longer failures are retried before the publisher gives up.
        public var remaining: Duration
    }

    private struct InFlight {
        var header: FrameHeader
        var payload: [UInt8]
    }

    /// The publish endpoint every connection goes to.
    public let url: WebSocketURL
    /// How to connect, pace and recover.
    public let configuration: Configuration
    /// Attempts made after a failure so far.
    public private(set) var reconnects = 0
    /// The run this publisher's frames belong to, as the server's latest hello named it; a reconnect
    /// asks to continue it. `nil` until the first connection.
    public private(set) var run: String?
    private let onReconnect: @Sendable (Retry) -> Void
    private let current = CurrentConnection()
    private var publisher: StreamPublisher?
    /// Frames handed to the current connection that it has not confirmed as written.
    private var unconfirmed: [InFlight] = []
    private var confirmedOnConnection = 0
    /// Failed attempts since the last successful connection, and when the first of them failed.
    private var failures: (count: Int, since: ContinuousClock.Instant)?
    private var hasConnected = false
    /// What the current connection's frames go out as (``Configuration/deltas``).
    private var encoder = DeltaEncoder()

    /// - Parameters:
    ///   - url: A publish endpoint, `ws[s]://HOST:PORT/streams/NAME/publish`; with `?run=ID` the
    ///     first connection already asks to continue that run.
    ///   - onReconnect: Called before each retry with the failure, for a log line.
    public init(
        url: WebSocketURL, configuration: Configuration = .init(),
        onReconnect: @escaping @Sendable (Retry) -> Void = { _ in }
    ) {
        self.url = url
        self.configuration = configuration
        self.onReconnect = onReconnect
    }

    /// Bytes handed to the current connection and not yet written to its socket.
    public var bufferedAmount: Int { publisher?.connection.bufferedAmount ?? 0 }

    /// The current connection's `readyState`: `.closed` before the first connection and once a
    /// connection has failed, until the next call reconnects.
    public var readyState: ReadyState { publisher?.connection.readyState ?? .closed }

    /// Connects before the first frame is ready, so a wrong URL or token is reported at once and the
    /// stream shows its publisher while frames are still being prepared.
    public mutating func connect() async throws {
        try await withPublisher { _, _ in }
    }

    /// Hands one frame to the connection once `bufferedAmount` is at most the threshold: whole, or
    /// with ``Configuration/deltas`` as a delta where that is smaller.
    @discardableResult
    public mutating func publish(_ header: FrameHeader, payload: [UInt8]) async throws -> Sent {
        let (threshold, deltas) = (configuration.threshold, configuration.deltas)
        // Trimmed before the new frame is handed over, so the written count and the list stay in step.
        trimConfirmed()
        let sent = try await withPublisher { (publisher, encoder) async throws(WebSocketClientError) in
            try await publisher.connection.waitForBufferedAmount(atMost: threshold)
            return try await Self.hand(header, payload, to: publisher, deltas: deltas, encoder: &encoder)
        }
        unconfirmed.append(InFlight(header: header, payload: payload))
        return sent
    }

    /// Says the stream is complete (`{"type":"end"}`), waits for every byte to reach the socket, and
    /// closes with 1000.
    ///
    /// - Returns: How the connection closed; a code other than 1000 means the server did not accept
    ///   the end of the stream cleanly.
    public mutating func finish(lastSequence: UInt64?) async throws -> CloseInfo {
        let info = try await withPublisher { (publisher, _) async throws(WebSocketClientError) in
            try await publisher.end(lastSequence: lastSequence)
            try await publisher.connection.waitForBufferedAmount(atMost: 0)
            return await publisher.connection.close(code: 1000, reason: "end of stream")
        }
        publisher = nil
        current.set(nil)
        return info
    }

    /// Closes the current connection, if there is one, without ending the stream; frames already
    /// handed to it are written first.
    public mutating func close(code: UInt16, reason: String) async {
        guard let publisher else { return }
        self.publisher = nil
        current.set(nil)
        await publisher.connection.close(code: code, reason: reason)
    }

    /// Runs `body` on a connected publisher and its encoder, reconnecting (and first resending what a
    /// failed connection never wrote) until it succeeds or the failure is final.
    private mutating func withPublisher<T>(
        _ body: (StreamPublisher, inout DeltaEncoder) async throws(WebSocketClientError) -> T
    ) async throws -> T {
        let current = self.current, code: UInt16 = 1001, reason = configuration.stopReason
        return try await withTaskCancellationHandler {
            while true {
                try await stopIfCancelled()
                do throws(WebSocketClientError) {
                    let publisher = try await connected()
                    return try await body(publisher, &encoder)
                } catch {
                    try await stopIfCancelled()
                    try await recover(from: error)
                }
            }
        } onCancel: {
            // waitForBufferedAmount does not end on cancellation; closing the connection ends it.
            current.close(code: code, reason: reason)
        }
    }

    private mutating func stopIfCancelled() async throws {
        guard Task.isCancelled else { return }
        await close(code: 1001, reason: configuration.stopReason)
        throw CancellationError()
    }

    private mutating func trimConfirmed() {
        guard let publisher else { return }
        let written = publisher.connection.binaryMessagesWritten
        unconfirmed.removeFirst(min(unconfirmed.count, written - confirmedOnConnection))
        confirmedOnConnection = written
    }

    private mutating func connected() async throws(WebSocketClientError) -> StreamPublisher {
        if let publisher { return publisher }
        let target = run.map { url.settingQueryItem("run", to: Self.percentEncoded($0)) } ?? url
        let publisher = try await StreamPublisher.connect(to: target, configuration: configuration.client)
        self.publisher = publisher
        // A server that was restarted knows nothing of the old run and starts a new one: that is the
        // run to continue from now on.
        run = publisher.hello.run ?? run
        failures = nil
        hasConnected = true
        current.set(publisher.connection)
        confirmedOnConnection = 0
        encoder = DeltaEncoder()
        // Frames the previous connection took but never wrote go first, in their original order.
        let resend = unconfirmed
        unconfirmed = []
        for frame in resend {
            try await publisher.connection.waitForBufferedAmount(atMost: configuration.threshold)
            try await Self.hand(frame.header, frame.payload, to: publisher, deltas: configuration.deltas, encoder: &encoder)
            unconfirmed.append(frame)
        }
        return publisher
    }

    /// Sends a frame on `publisher`: as it is, or with `deltas` through the connection's encoder.
    @discardableResult
    private static func hand(
        _ header: FrameHeader, _ payload: [UInt8], to publisher: StreamPublisher, deltas: Bool, encoder: inout DeltaEncoder
    ) async throws(WebSocketClientError) -> Sent {
        let (wireHeader, wirePayload) = deltas ? encoder.encode(header, payload: payload) : (header, payload)
        try await publisher.publish(wireHeader, payload: wirePayload)
        return Sent(pixelFormat: wireHeader.pixelFormat, bytes: FrameHeader.v1Length + wirePayload.count)
    }

    /// Decides whether a failure is worth a new connection, and waits the backoff before it.
    private mutating func recover(from error: WebSocketClientError) async throws {
        trimConfirmed()
        publisher = nil
        current.set(nil)
        guard configuration.reconnects, error.isTransient, configuration.retryFor > .zero else { throw error }
        let now = ContinuousClock.now
        let streak = (count: (failures?.count ?? 0) + 1, since: failures?.since ?? now)
        failures = streak
        let remaining = configuration.retryFor - (now - streak.since)
        guard remaining > .zero else { throw WebSocketClientError.gaveUp(error, after: now - streak.since) }
        reconnects += 1
        let exponent = min(streak.count - 1, 8)
        let base = min(Duration.milliseconds(250) * (1 << exponent), configuration.maxBackoff)
        let jitter = Double.random(in: 0.8...1.2)
        onReconnect(Retry(error: error, attempt: streak.count, wasConnected: hasConnected, remaining: remaining))
        // The last attempt is made when the time is up, not a backoff later.
        try await Task.sleep(for: min(base * jitter, remaining))
    }

    /// `value` safe in a query: the server's run IDs need no escaping, but they are opaque.
    private static func percentEncoded(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(UnicodeScalar(byte)))
            default:
                encoded += (byte < 0x10 ? "%0" : "%") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }
}

/// The live connection, reachable from a cancellation handler, which runs outside the publishing task.
private final class CurrentConnection: Sendable {
    private let connection = Mutex<WebSocketConnection?>(nil)

    func set(_ value: WebSocketConnection?) {
        connection.withLock { $0 = value }
    }

    /// Starts the closing handshake; the publishing task sees the connection end and waits for it.
    func close(code: UInt16, reason: String) {
        guard let connection = connection.withLock({ $0 }) else { return }
        // The handler is synchronous and close is async; the task only hands the close to the event loop.
        Task { await connection.close(code: code, reason: reason) }
    }
}
