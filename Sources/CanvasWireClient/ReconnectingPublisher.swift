public import CanvasWireCore
import Synchronization

/// Publishes frames in order over one logical stream that survives reconnects.
///
/// Frames are handed over only while the connection's `bufferedAmount` is at most the threshold. When
/// a connection fails, the publisher reconnects with exponential backoff (250 ms doubling to
/// ``Configuration/maxBackoff``, ±20 % jitter) and first sends again, with their original sequence
/// numbers, the frames the failed connection took but never wrote to its socket, so a viewer misses
/// nothing it could have been sent. Refusals that another attempt cannot fix (HTTP 4xx, close codes
/// 1002, 1003, 1007, 1008, 1009) are thrown instead.
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
        /// The close reason sent with 1001 when the calling task is cancelled.
        public var stopReason: String

        /// - Parameters: see the properties; the defaults are `canvaswire send`'s.
        public init(
            client: WebSocketClientConfiguration = .init(), threshold: Int = 8 << 20, reconnects: Bool = true,
            maxBackoff: Duration = .seconds(5), stopReason: String = "publisher stopped"
        ) {
            self.client = client
            self.threshold = threshold
            self.reconnects = reconnects
            self.maxBackoff = maxBackoff
            self.stopReason = stopReason
        }
    }

    private struct InFlight {
        var header: FrameHeader
        var payload: [UInt8]
    }

    /// The publish endpoint every connection goes to.
    public let url: WebSocketURL
    /// How to connect, pace and recover.
    public let configuration: Configuration
    /// Connections replaced so far.
    public private(set) var reconnects = 0
    private let onReconnect: @Sendable (WebSocketClientError, Int) -> Void
    private let current = CurrentConnection()
    private var publisher: StreamPublisher?
    /// Frames handed to the current connection that it has not confirmed as written.
    private var unconfirmed: [InFlight] = []
    private var confirmedOnConnection = 0

    /// - Parameters:
    ///   - url: A publish endpoint, `ws[s]://HOST:PORT/streams/NAME/publish`.
    ///   - onReconnect: Called before each new attempt with the failure and the attempt's number, for
    ///     a log line.
    public init(
        url: WebSocketURL, configuration: Configuration = .init(),
        onReconnect: @escaping @Sendable (WebSocketClientError, _ attempt: Int) -> Void = { _, _ in }
    ) {
        self.url = url
        self.configuration = configuration
        self.onReconnect = onReconnect
    }

    /// Bytes handed to the current connection and not yet written to its socket.
    public var bufferedAmount: Int { publisher?.connection.bufferedAmount ?? 0 }

    /// Connects before the first frame is ready, so a wrong URL or token is reported at once and the
    /// stream shows its publisher while frames are still being prepared.
    public mutating func connect() async throws {
        try await withPublisher { _ in }
    }

    /// Hands one frame to the connection once `bufferedAmount` is at most the threshold.
    public mutating func publish(_ header: FrameHeader, payload: [UInt8]) async throws {
        let threshold = configuration.threshold
        // Trimmed before the new frame is handed over, so the written count and the list stay in step.
        trimConfirmed()
        try await withPublisher { (publisher) async throws(WebSocketClientError) in
            try await publisher.connection.waitForBufferedAmount(atMost: threshold)
            try await publisher.publish(header, payload: payload)
        }
        unconfirmed.append(InFlight(header: header, payload: payload))
    }

    /// Says the stream is complete (`{"type":"end"}`), waits for every byte to reach the socket, and
    /// closes with 1000.
    ///
    /// - Returns: How the connection closed; a code other than 1000 means the server did not accept
    ///   the end of the stream cleanly.
    public mutating func finish(lastSequence: UInt64?) async throws -> CloseInfo {
        let info = try await withPublisher { (publisher) async throws(WebSocketClientError) in
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

    /// Runs `body` on a connected publisher, reconnecting (and first resending what a failed
    /// connection never wrote) until it succeeds or the failure is final.
    private mutating func withPublisher<T>(
        _ body: (StreamPublisher) async throws(WebSocketClientError) -> T
    ) async throws -> T {
        let current = self.current, code: UInt16 = 1001, reason = configuration.stopReason
        return try await withTaskCancellationHandler {
            while true {
                try await stopIfCancelled()
                do throws(WebSocketClientError) {
                    return try await body(try await connected())
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
        let publisher = try await StreamPublisher.connect(to: url, configuration: configuration.client)
        self.publisher = publisher
        current.set(publisher.connection)
        confirmedOnConnection = 0
        // Frames the previous connection took but never wrote go first, in their original order.
        let resend = unconfirmed
        unconfirmed = []
        for frame in resend {
            try await publisher.connection.waitForBufferedAmount(atMost: configuration.threshold)
            try await publisher.publish(frame.header, payload: frame.payload)
            unconfirmed.append(frame)
        }
        return publisher
    }

    /// Decides whether a failure is worth a new connection, and waits the backoff before it.
    private mutating func recover(from error: WebSocketClientError) async throws {
        trimConfirmed()
        publisher = nil
        current.set(nil)
        let refusedForGood = error.refusedStatus.map { (400..<500).contains($0) } ?? false
        let rejectedFrame = error.closeInfo.map { [1002, 1003, 1007, 1008, 1009].contains($0.code) } ?? false
        guard configuration.reconnects, !refusedForGood, !rejectedFrame else { throw error }
        reconnects += 1
        let exponent = min(reconnects - 1, 8)
        let base = min(Duration.milliseconds(250) * (1 << exponent), configuration.maxBackoff)
        let jitter = Double.random(in: 0.8...1.2)
        onReconnect(error, reconnects)
        try await Task.sleep(for: base * jitter)
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
