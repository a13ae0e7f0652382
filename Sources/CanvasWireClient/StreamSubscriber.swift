public import CanvasWireCore
public import NIOCore

/// Something a viewer receives: a frame or a control message about the stream.
public enum StreamEvent: Sendable {
    case frame(ReceivedFrame)
    /// The server skipped frames for this (`latest`) viewer.
    case dropped(ControlMessage.Dropped)
    /// A publisher joined or left; every frame after this event belongs to the run it names.
    case publisher(ControlMessage.PublisherState)
    /// The publisher ended its finite stream.
    case end(ControlMessage.End)
}

/// A validated frame as it arrived.
public struct ReceivedFrame: Sendable {
    public var header: FrameHeader
    /// The payload only (RGBA8 pixels or a PNG file), a slice of the received message.
    public var payload: ByteBuffer
    /// When the frame's last byte was read (wall clock, microseconds since the Unix epoch), like the
    /// browser's `MessageEvent.timeStamp`: compare with `header.captureTimeMicros` for its latency.
    public var receivedAtMicros: UInt64
}

/// Subscribes to a CanvasWire stream (`WS /streams/NAME`) and yields its events in order.
public struct StreamSubscriber: Sendable {
    public let connection: WebSocketConnection
    public let hello: ControlMessage.Hello

    /// Connects as a viewer with `policy` (set in the URL's query) and waits for the hello.
    public static func connect(
        to url: WebSocketURL, policy: DeliveryPolicy, configuration: WebSocketClientConfiguration = .init()
    ) async throws(WebSocketClientError) -> StreamSubscriber {
        let connection = try await WebSocketConnection.connect(
            to: url.settingQueryItem("policy", to: policy.rawValue), configuration: configuration
        )
        let hello = try await Greeting.receive(on: connection)
        return StreamSubscriber(connection: connection, hello: hello)
    }

    /// The stream's events. Every frame is checked against the server's announced limits and the v1
    /// rules; a frame that breaks them ends the sequence with a ``FrameError``.
    public var events: Events { Events(messages: connection.messages, limits: hello.limits.frameLimits) }

    public struct Events: AsyncSequence, Sendable {
        public typealias Element = StreamEvent
        let messages: WebSocketConnection.Messages
        let limits: FrameLimits

        public func makeAsyncIterator() -> Iterator {
            Iterator(base: messages.makeAsyncIterator(), limits: limits)
        }

        public struct Iterator: AsyncIteratorProtocol {
            var base: WebSocketConnection.Messages.Iterator
            let limits: FrameLimits

            public mutating func next() async throws -> StreamEvent? {
                while let received = try await base.nextReceived() {
                    switch received.message {
                    case .binary(let buffer):
                        return .frame(try Self.validate(buffer, receivedAtMicros: received.receivedAtMicros, limits: limits))
                    case .text(let text):
                        switch try ControlMessage(parsing: text) {
                        case .dropped(let dropped): return .dropped(dropped)
                        case .publisher(let state): return .publisher(state)
                        case .end(let end): return .end(end)
                        case .hello, .unknown: continue
                        }
                    }
                }
                return nil
            }

            static func validate(
                _ message: ByteBuffer, receivedAtMicros: UInt64, limits: FrameLimits
            ) throws(FrameError) -> ReceivedFrame {
                let (header, payloadLength) = try message.withUnsafeReadableBytes { raw in
                    Result { () throws(FrameError) in try FrameHeader.split(raw, limits: limits) }
                }.get()
                let payload = message.getSlice(at: message.readerIndex + header.headerLength, length: payloadLength)!
                return ReceivedFrame(header: header, payload: payload, receivedAtMicros: receivedAtMicros)
            }
        }
    }
}
