public import CanvasWireCore
import NIOCore

/// Publishes frames to a CanvasWire stream (`WS /streams/NAME/publish`).
public final class StreamPublisher: Sendable {
    public let connection: WebSocketConnection
    /// The server's greeting, with its limits and high-water mark.
    public let hello: ControlMessage.Hello

    private init(connection: WebSocketConnection, hello: ControlMessage.Hello) {
        self.connection = connection
        self.hello = hello
    }

    /// Connects and waits for the server's hello.
    ///
    /// - Throws: ``WebSocketClientError`` when the server refuses, for example because the stream
    ///   already has a publisher (close 1008) or the token is wrong (HTTP 401).
    public static func connect(
        to url: WebSocketURL, configuration: WebSocketClientConfiguration = .init()
    ) async throws(WebSocketClientError) -> StreamPublisher {
        let connection = try await WebSocketConnection.connect(to: url, configuration: configuration)
        let hello = try await Greeting.receive(on: connection)
        return StreamPublisher(connection: connection, hello: hello)
    }

    /// Hands one frame to the connection: the 32-byte v1 header followed by `payload`.
    ///
    /// Pace with ``WebSocketConnection/waitForBufferedAmount(atMost:)`` before calling it.
    public func publish(_ header: FrameHeader, payload: [UInt8]) async throws(WebSocketClientError) {
        var message = ByteBufferAllocator().buffer(capacity: FrameHeader.v1Length + payload.count)
        header.withV1Bytes { _ = message.writeBytes($0) }
        message.writeBytes(payload)
        try await connection.send(message)
    }

    /// Tells the server (and through it every viewer) that the finite stream is complete.
    public func end(lastSequence: UInt64?) async throws(WebSocketClientError) {
        try await connection.send(text: ControlMessage.end(.init(lastSequence: lastSequence)).json())
    }
}

/// Reads the hello that opens every CanvasWire connection.
enum Greeting {
    static func receive(on connection: WebSocketConnection) async throws(WebSocketClientError) -> ControlMessage.Hello {
        var iterator = connection.messages.makeAsyncIterator()
        let first: WebSocketConnection.Message?
        do {
            first = try await iterator.next()
        } catch let error as WebSocketClientError {
            throw error
        } catch {
            throw .protocolViolation("\(error)")
        }
        guard let first else {
            let info = await connection.waitUntilClosed()
            throw .closed(info)
        }
        guard case .text(let text) = first, case .hello(let hello)? = try? ControlMessage(parsing: text) else {
            await connection.close(code: 1002, reason: "expected a hello")
            throw .protocolViolation("the server's first message was not a CanvasWire hello")
        }
        return hello
    }
}
