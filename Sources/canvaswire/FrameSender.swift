import CanvasWireClient
import CanvasWireCore

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

    let options: Options
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
        while true {
            do {
                _ = try await connected()
                return
            } catch {
                try await recover(from: error)
            }
        }
    }

    mutating func send(_ header: FrameHeader, payload: [UInt8]) async throws {
        try await deliver(InFlight(header: header, payload: payload))
    }

    /// Signals the end of the stream, waits for every byte to reach the socket, and closes with 1000.
    mutating func finish(lastSequence: UInt64?) async throws {
        while true {
            do {
                let publisher = try await connected()
                try await publisher.end(lastSequence: lastSequence)
                try await publisher.connection.waitForBufferedAmount(atMost: 0)
                let info = await publisher.connection.close(code: 1000, reason: "end of stream")
                self.publisher = nil
                if info.code != 1000 {
                    throw CommandFailure(description: "the server closed the stream with \(info)")
                }
                return
            } catch let error as WebSocketClientError {
                try await recover(from: error)
            }
        }
    }

    private mutating func deliver(_ frame: InFlight) async throws {
        while true {
            do {
                let publisher = try await connected()
                try await publisher.connection.waitForBufferedAmount(atMost: options.threshold)
                trimConfirmed()
                try await publisher.publish(frame.header, payload: frame.payload)
                unconfirmed.append(frame)
                return
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
