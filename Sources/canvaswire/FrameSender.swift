import CanvasWireClient
import CanvasWireCore
import Synchronization

/// Publishes prepared frames in order over one logical stream that survives reconnects.
///
/// Frames are handed over only while the connection's `bufferedAmount` is at most the threshold. Frames
/// handed to a connection that then fails, and not yet written to its socket, are sent again on the next
/// connection with their original sequence numbers, so a receiver misses nothing it could have missed.
struct FrameSender {
    struct Options {
        var url: WebSocketURL
        var client: WebSocketClientConfiguration
        var threshold: Int
        var reconnect: Bool
        var maxBackoff: Duration = .seconds(5)
    }

    private struct InFlight {
        var header: FrameHeader
        var payload: [UInt8]
    }

    /// What a signal handler needs to stop the sender from outside its task: the live connection.
    final class Control: Sendable {
        private let state = Mutex<(connection: WebSocketConnection?, stopping: Bool)>((nil, false))
        private let sent = Atomic<Int>(0)

        /// Frames handed to a connection so far, for a summary written from outside the sending task.
        var framesSent: Int { sent.load(ordering: .relaxed) }

        var connection: WebSocketConnection? {
            get { state.withLock { $0.connection } }
            set { state.withLock { $0.connection = newValue } }
        }

        var isStopping: Bool { state.withLock { $0.stopping } }

        func countSent() { sent.add(1, ordering: .relaxed) }

        /// Stops reconnecting and closes the current connection with `code`; frames already handed to
        /// it are written first (the close frame queues behind them).
        func stop(code: UInt16, reason: String) async {
            guard let connection = state.withLock({ state -> WebSocketConnection? in
                state.stopping = true
                return state.connection
            }) else { return }
            await connection.close(code: code, reason: reason)
        }
    }

    let options: Options
    let control = Control()
    private(set) var reconnects = 0
    private var publisher: StreamPublisher?
    /// Frames handed to the current connection that it has not confirmed as written.
    private var unconfirmed: [InFlight] = []
    private var confirmedOnConnection = 0

    init(options: Options) {
        self.options = options
    }

    var bufferedAmount: Int { publisher?.connection.bufferedAmount ?? 0 }

    /// Connects before the first frame is ready, so a wrong URL or token is reported at once and a
    /// watched folder's stream shows its publisher while it waits for files.
    mutating func open() async throws {
        try await withPublisher { _ in }
    }

    mutating func send(_ header: FrameHeader, payload: [UInt8]) async throws {
        let threshold = options.threshold
        // Trimmed before the new frame is handed over, so the written count and the list stay in step.
        trimConfirmed()
        try await withPublisher { (publisher) async throws(WebSocketClientError) in
            try await publisher.connection.waitForBufferedAmount(atMost: threshold)
            try await publisher.publish(header, payload: payload)
        }
        unconfirmed.append(InFlight(header: header, payload: payload))
        control.countSent()
    }

    /// Signals the end of the stream, waits for every byte to reach the socket, and closes with 1000.
    mutating func finish(lastSequence: UInt64?) async throws {
        let info = try await withPublisher { (publisher) async throws(WebSocketClientError) in
            try await publisher.end(lastSequence: lastSequence)
            try await publisher.connection.waitForBufferedAmount(atMost: 0)
            return await publisher.connection.close(code: 1000, reason: "end of stream")
        }
        publisher = nil
        if info.code != 1000 {
            throw CommandFailure(description: "the server closed the stream with \(info)")
        }
    }

    /// Runs `body` on a connected publisher, reconnecting (and first resending what a failed
    /// connection never wrote) until it succeeds or the failure is final.
    private mutating func withPublisher<T>(
        _ body: (StreamPublisher) async throws(WebSocketClientError) -> T
    ) async throws -> T {
        while true {
            do {
                return try await body(try await connected())
            } catch {
                try await recover(from: error)
            }
        }
    }

    private mutating func trimConfirmed() {
        guard let publisher else { return }
        let written = publisher.connection.binaryMessagesWritten
        unconfirmed.removeFirst(min(unconfirmed.count, written - confirmedOnConnection))
        confirmedOnConnection = written
    }

    private mutating func connected() async throws(WebSocketClientError) -> StreamPublisher {
        if let publisher { return publisher }
        let publisher = try await StreamPublisher.connect(to: options.url, configuration: options.client)
        self.publisher = publisher
        control.connection = publisher.connection
        confirmedOnConnection = 0
        // Frames the previous connection took but never wrote go first, in their original order.
        let resend = unconfirmed
        unconfirmed = []
        for frame in resend {
            try await publisher.connection.waitForBufferedAmount(atMost: options.threshold)
            try await publisher.publish(frame.header, payload: frame.payload)
            unconfirmed.append(frame)
        }
        return publisher
    }

    /// Decides whether a failure is worth a new connection, and waits the backoff before it.
    private mutating func recover(from error: WebSocketClientError) async throws {
        trimConfirmed()
        publisher = nil
        control.connection = nil
        if control.isStopping {
            // The stop request owns the exit from here (see SendCommand); do not reconnect meanwhile.
            try await Task.sleep(for: .seconds(60))
            throw error
        }
        let refusedForGood = error.refusedStatus.map { (400..<500).contains($0) } ?? false
        let rejectedFrame = error.closeInfo.map { [1002, 1003, 1007, 1008, 1009].contains($0.code) } ?? false
        guard options.reconnect, !refusedForGood, !rejectedFrame else { throw error }
        reconnects += 1
        let exponent = min(reconnects - 1, 8)
        let base = min(Duration.milliseconds(250) * (1 << exponent), options.maxBackoff)
        let jitter = Double.random(in: 0.8...1.2)
        writeStderr("canvaswire send: \(error); reconnecting (attempt \(reconnects))\n")
        try await Task.sleep(for: base * jitter)
    }
}
