public import CanvasWireCore
import NIOCore

/// Something a viewer receives: a frame or a control message about the stream.
public enum StreamEvent: Sendable {
    /// A whole frame, also when it arrived as a delta.
    case frame(ReceivedFrame)
    /// The server skipped frames for this (`latest`) viewer.
    case dropped(ControlMessage.Dropped)
    /// A publisher joined or left; every frame after this event belongs to the run it names.
    case publisher(ControlMessage.PublisherState)
    /// The publisher ended its finite stream.
    case end(ControlMessage.End)
}

/// Subscribes to a CanvasWire stream (`WS /streams/NAME`) and yields its events in order.
public struct StreamSubscriber: Sendable {
    public let connection: WebSocketConnection
    public let hello: ControlMessage.Hello

    /// Connects as a viewer and waits for the hello.
    ///
    /// - Parameters:
    ///   - url: The viewer endpoint, `ws[s]://HOST:PORT/streams/NAME`.
    ///   - policy: `latest` or `all`, set in the URL's query.
    ///   - encoding: `delta` asks the server to send only the rectangles that changed wherever that is
    ///     smaller (`encoding=delta` in the query): on screen-like content a few percent of the bytes.
    ///     ``events`` hands on whole frames either way. `raw`, the default, sends every frame whole.
    ///   - configuration: Token, TLS and limits of the connection.
    public static func connect(
        to url: WebSocketURL, policy: DeliveryPolicy, encoding: ViewerEncoding = .raw,
        configuration: WebSocketClientConfiguration = .init()
    ) async throws(WebSocketClientError) -> StreamSubscriber {
        var target = url.settingQueryItem("policy", to: policy.rawValue)
        if encoding != .raw { target = target.settingQueryItem("encoding", to: encoding.rawValue) }
        let connection = try await WebSocketConnection.connect(to: target, configuration: configuration)
        let hello = try await Greeting.receive(on: connection)
        return StreamSubscriber(connection: connection, hello: hello)
    }

    /// The stream's events, every frame whole. Each frame is checked against the server's announced
    /// limits and the v1 rules, and each delta is applied to the frame before it. A message that
    /// breaks the rules (a delta with no frame of its size before it among them) closes the connection
    /// with the error's close code (1008 for a bad delta) and ends the sequence with that ``FrameError``.
    ///
    /// Iterate once, from one task: the frame a delta applies to lives in the iterator.
    public var events: Events { Events(connection: connection, limits: hello.limits.frameLimits) }

    public struct Events: AsyncSequence, Sendable {
        public typealias Element = StreamEvent
        let connection: WebSocketConnection
        let limits: FrameLimits

        public func makeAsyncIterator() -> Iterator {
            Iterator(connection: connection, base: connection.messages.makeAsyncIterator(), frames: FrameReconstructor(limits: limits))
        }

        public struct Iterator: AsyncIteratorProtocol {
            let connection: WebSocketConnection
            var base: WebSocketConnection.Messages.Iterator
            var frames: FrameReconstructor

            public mutating func next() async throws -> StreamEvent? {
                while let received = try await base.nextReceived() {
                    do throws(FrameError) {
                        if let event = try event(from: received) { return event }
                    } catch {
                        // As the server does with a publisher's bad message: say what was wrong, then stop.
                        await connection.close(code: error.closeCode, reason: error.description)
                        throw error
                    }
                }
                return nil
            }

            private mutating func event(from received: WebSocketConnection.ReceivedMessage) throws(FrameError) -> StreamEvent? {
                switch received.message {
                case .binary(let buffer):
                    return .frame(try frames.frame(from: buffer, receivedAtMicros: received.receivedAtMicros, wireBytes: received.wireBytes))
                case .text(let text):
                    switch try ControlMessage(parsing: text) {
                    case .dropped(let dropped): return .dropped(dropped)
                    case .publisher(let state): return .publisher(state)
                    case .end(let end): return .end(end)
                    case .hello, .ack, .unknown: return nil
                    }
                }
            }
        }
    }
}
