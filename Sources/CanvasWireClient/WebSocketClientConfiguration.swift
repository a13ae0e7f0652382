public import Logging
public import NIOSSL

/// How a ``WebSocketConnection`` connects.
public struct WebSocketClientConfiguration: Sendable {
    /// Sent as `Authorization: Bearer TOKEN`.
    public var token: String?
    /// Offered in `Sec-WebSocket-Protocol`.
    public var subprotocols: [String]
    /// Other request headers, for example `Origin`.
    public var additionalHeaders: [(String, String)]
    /// Largest message accepted from the server; larger ones close the connection with 1009.
    public var maxMessageBytes: Int
    /// Received messages buffered for a consumer that is behind; past this the socket is no longer
    /// read, so the server sees backpressure instead of this process growing.
    public var receiveBufferMessages: Int
    /// TLS settings for `wss://`; the default trusts the system's roots.
    public var tls: TLSConfiguration
    public var connectTimeout: Duration
    /// Whether to use permessage-deflate (RFC 7692) where the server agrees.
    public var compression: Compression
    /// Where the connection logs protocol failures; silent by default, so that a command writing frames
    /// to stdout never gets log lines mixed in.
    public var logger: Logger

    /// - Parameters: see the properties.
    public init(
        token: String? = nil,
        subprotocols: [String] = [],
        additionalHeaders: [(String, String)] = [],
        maxMessageBytes: Int = (256 << 20) + (64 << 10),
        receiveBufferMessages: Int = 4,
        tls: TLSConfiguration = .makeClientConfiguration(),
        connectTimeout: Duration = .seconds(10),
        compression: Compression = .receive,
        logger: Logger = Logger(label: "canvaswire.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.token = token
        self.subprotocols = subprotocols
        self.additionalHeaders = additionalHeaders
        self.maxMessageBytes = maxMessageBytes
        self.receiveBufferMessages = receiveBufferMessages
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.compression = compression
        self.logger = logger
    }
}

extension WebSocketClientConfiguration {
    /// How a connection uses permessage-deflate.
    public enum Compression: String, Sendable, CaseIterable {
        /// Offer nothing: every message crosses the wire as it is.
        case off
        /// Offer permessage-deflate so the server may compress what it sends (a CanvasWire server does
        /// where it pays: deltas and small frames of screen content); send everything uncompressed,
        /// which costs this side no CPU. The default.
        case receive
        /// Also compress every binary message sent: for publishers on slow links with screen content.
        case sendAndReceive
    }
}
