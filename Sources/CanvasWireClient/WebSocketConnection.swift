public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import CanvasWireWebSocket
import Synchronization

/// A client WebSocket connection with the browser API's figures: `readyState`, `bufferedAmount`, and
/// the close code, reason and `wasClean` once it has ended.
///
/// ```swift
/// let connection = try await WebSocketConnection.connect(to: WebSocketURL("ws://127.0.0.1:8080/echo"))
/// try await connection.send(text: "hello")
/// for try await message in connection.messages { ... }
/// ```
public final class WebSocketConnection: Sendable {
    /// A complete received message.
    public enum Message: Sendable {
        case binary(ByteBuffer)
        case text(String)
    }

    /// A message with the wall-clock time (microseconds since the Unix epoch) its last byte was read,
    /// like the browser's `MessageEvent.timeStamp`: taken on the connection's event loop, before the
    /// consumer task is scheduled, so latency figures do not include the consumer's own delays.
    struct ReceivedMessage: Sendable {
        var message: Message
        var receivedAtMicros: UInt64
        /// The message's payload bytes as they crossed the wire: less than the message when it was
        /// compressed (permessage-deflate).
        var wireBytes: Int
    }

    public let url: WebSocketURL
    /// The subprotocol the server chose, if any.
    public let subprotocol: String?
    private let channel: any Channel
    private let session: ClientSession
    private let stream: AsyncThrowingStream<ReceivedMessage, any Error>

    private init(url: WebSocketURL, subprotocol: String?, channel: any Channel, session: ClientSession, stream: AsyncThrowingStream<ReceivedMessage, any Error>) {
        self.url = url
        self.subprotocol = subprotocol
        self.channel = channel
        self.session = session
        self.stream = stream
    }

    /// Opens a connection and completes the WebSocket handshake.
    ///
    /// - Throws: ``WebSocketClientError``: the server could not be reached, or refused the handshake
    ///   (``WebSocketClientError/refusedStatus`` tells the HTTP status, for example 401 for a wrong token).
    /// - Parameters:
    ///   - url: Where to connect.
    ///   - configuration: Token, subprotocols, limits and TLS.
    ///   - eventLoopGroup: Where the connection runs; `nil` uses NIO's shared singleton group.
    public static func connect(
        to url: WebSocketURL,
        configuration: WebSocketClientConfiguration = .init(),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws(WebSocketClientError) -> WebSocketConnection {
        let eventLoop = (eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton).next()
        let (stream, continuation) = AsyncThrowingStream<ReceivedMessage, any Error>.makeStream()
        let session = ClientSession(
            eventLoop: eventLoop,
            maxMessageBytes: configuration.maxMessageBytes,
            receiveBufferMessages: configuration.receiveBufferMessages,
            messages: continuation
        )
        let upgraded = eventLoop.makePromise(of: String?.self)
        do {
            let sslContext = url.secure ? try NIOSSLContext(configuration: configuration.tls) : nil
            let bootstrap = ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                // NIO's default reads 64 KiB at a time, four reads per wake-up: an 8 MB frame took 128
                // reads. The server's settings (up to 1 MiB, 16 reads) serve large frames in 8.
                .channelOption(.maxMessagesPerRead, value: 16)
                .channelOption(
                    .recvAllocator,
                    value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 << 10, maximum: 1 << 20)
                )
                .channelInitializer { channel in
                    do {
                        try Self.configure(channel, url: url, configuration: configuration, sslContext: sslContext, session: session, upgraded: upgraded)
                        return channel.eventLoop.makeSucceededVoidFuture()
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
            let channel = try await bootstrap.connect(host: url.host, port: url.port).get()
            channel.closeFuture.whenComplete { _ in
                upgraded.fail(WebSocketClientError.closed(CloseInfo(code: 1006, reason: "closed during the handshake", wasClean: false)))
            }
            let subprotocol = try await upgraded.futureResult.get()
            return WebSocketConnection(url: url, subprotocol: subprotocol, channel: channel, session: session, stream: stream)
        } catch let error as WebSocketClientError {
            throw error
        } catch {
            upgraded.fail(error)
            throw .connectionFailed(url.description, underlying: error)
        }
    }

    private static func configure(
        _ channel: any Channel, url: WebSocketURL, configuration: WebSocketClientConfiguration,
        sslContext: NIOSSLContext?, session: ClientSession, upgraded: EventLoopPromise<String?>
    ) throws {
        let sync = channel.pipeline.syncOperations
        if let sslContext {
            let isAddress = url.host.contains(":") || url.host.allSatisfy { $0.isNumber || $0 == "." }
            try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : url.host))
        }
        var headers = HTTPHeaders([("Host", url.hostHeader)])
        if let token = configuration.token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if !configuration.subprotocols.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: configuration.subprotocols.joined(separator: ", "))
        }
        for (name, value) in configuration.additionalHeaders { headers.add(name: name, value: value) }
        let request = HandshakeRequestHandler(url: url, headers: headers, upgraded: upgraded)
        let upgrader = MaskingWebSocketUpgrader(
            maxFrameSize: min(Int(UInt32.max), configuration.maxMessageBytes), offersDeflate: configuration.compression != .off
        ) { channel, response, deflate in
            let chosen = response.headers.first(name: "sec-websocket-protocol")
            session.compressesOutgoing = configuration.compression == .sendAndReceive
            let agreed = deflate == nil ? "" : response.headers[canonicalForm: "sec-websocket-extensions"].joined(separator: ", ")
            session.shared.extensions.withLock { $0 = agreed }
            let endpoint = WebSocketEndpointHandler(
                configuration: .init(endpoint: .init(role: .client), pingInterval: nil, deflate: deflate),
                delegate: session, logger: configuration.logger
            )
            do {
                try channel.pipeline.syncOperations.addHandler(endpoint)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            upgraded.succeed(chosen)
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        try sync.addHTTPClientHandlers(
            leftOverBytesStrategy: .forwardBytes,
            withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.syncOperations.removeHandler(request, promise: nil)
            })
        )
        try sync.addHandler(request)
    }

    /// `CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3).
    public var readyState: ReadyState {
        ReadyState(rawValue: session.shared.readyState.load(ordering: .acquiring)) ?? .closed
    }

    /// The extensions the server agreed to, like the browser's `WebSocket.extensions`: for example
    /// `permessage-deflate; server_no_context_takeover; client_no_context_takeover`, or empty.
    public var extensions: String {
        session.shared.extensions.withLock { $0 }
    }

    /// Bytes of messages handed to ``send(_:)`` and not yet written to the socket.
    public var bufferedAmount: Int {
        session.shared.bufferedAmount.load(ordering: .relaxed)
    }

    /// Binary messages written completely to the socket so far. A sender that must reconnect resumes
    /// with the first message not counted here.
    public var binaryMessagesWritten: Int {
        session.shared.binaryMessagesWritten.load(ordering: .relaxed)
    }

    /// How the connection ended; `nil` while it is open.
    public var closeInfo: CloseInfo? {
        session.shared.closeInfo.withLock { $0 }
    }

    /// Received messages, in order. Iterate from one task only. While the consumer is behind, the
    /// socket is not read, so a slow consumer slows the server down rather than filling memory.
    public var messages: Messages { Messages(stream: stream, session: session) }

    /// Hands a binary message to the connection. It returns at once; ``bufferedAmount`` tells how much
    /// is still waiting for the socket.
    public func send(_ data: ByteBuffer) async throws(WebSocketClientError) {
        try await perform { (session) throws(WebSocketClientError) in try session.send(.binary, data) }
    }

    public func send(text: String) async throws(WebSocketClientError) {
        try await perform { (session) throws(WebSocketClientError) in try session.send(.text, ByteBuffer(string: text)) }
    }

    /// Suspends until ``bufferedAmount`` is at most `threshold`, the way a browser sender paces itself.
    ///
    /// - Throws: ``WebSocketClientError`` if the connection closes first.
    public func waitForBufferedAmount(atMost threshold: Int) async throws(WebSocketClientError) {
        do {
            try await withCheckedThrowingContinuation { continuation in
                session.eventLoop.execute { self.session.waitForBufferedAmount(atMost: threshold, continuation: continuation) }
            }
        } catch let error as WebSocketClientError {
            throw error
        } catch {
            throw .connectionFailed(url.description, underlying: error)
        }
    }

    /// Starts the closing handshake and waits until the connection has closed.
    ///
    /// - Returns: How it closed; `wasClean` is true when the server answered the close frame.
    @discardableResult
    public func close(code: UInt16 = 1000, reason: String = "") async -> CloseInfo {
        session.eventLoop.execute { self.session.close(code: code, reason: reason) }
        return await waitUntilClosed()
    }

    /// Waits until the connection has closed, by either side.
    public func waitUntilClosed() async -> CloseInfo {
        await withCheckedContinuation { continuation in
            session.eventLoop.execute { self.session.waitUntilClosed(continuation: continuation) }
        }
    }

    private func perform(_ body: @escaping @Sendable (ClientSession) throws(WebSocketClientError) -> Void) async throws(WebSocketClientError) {
        let result: Result<Void, WebSocketClientError>
        do {
            result = try await session.eventLoop.submit {
                Result { () throws(WebSocketClientError) in try body(self.session) }
            }.get()
        } catch {
            throw .connectionFailed(url.description, underlying: error)
        }
        try result.get()
    }
}

extension WebSocketConnection {
    /// The received messages of a connection.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = Message
        let stream: AsyncThrowingStream<ReceivedMessage, any Error>
        let session: ClientSession

        public func makeAsyncIterator() -> Iterator {
            Iterator(base: stream.makeAsyncIterator(), session: session)
        }

        public struct Iterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<ReceivedMessage, any Error>.Iterator
            let session: ClientSession

            public mutating func next() async throws -> Message? {
                try await nextReceived()?.message
            }

            mutating func nextReceived() async throws -> ReceivedMessage? {
                let received = try await base.next()
                if received != nil { session.messageConsumed() }
                return received
            }
        }
    }
}
