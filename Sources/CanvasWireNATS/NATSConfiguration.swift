/// How a ``NATSConnection`` connects, keeps alive and reconnects.
public struct NATSConfiguration: Sendable {
    /// Sent in `CONNECT`; the server shows it in its connection list (`/connz`), which is how an
    /// operator tells relay nodes apart.
    public var name: String
    /// Longest wait for one server: TCP connect, its `INFO` and the `PONG` that confirms `CONNECT`.
    public var connectTimeout: Duration
    /// How often a `PING` is sent. A connection whose server has not answered
    /// ``maxPingsOutstanding`` of them is dead (a silent network, a frozen server) and is replaced.
    public var pingInterval: Duration
    /// Unanswered `PING`s after which the connection is declared dead (see ``pingInterval``).
    public var maxPingsOutstanding: Int
    /// The first wait before retrying after a failed attempt; it doubles with each failure in a
    /// row up to ``maxReconnectDelay``, and every wait is shortened by a random part of up to half
    /// so that nodes that lost the same server do not come back in lockstep.
    public var reconnectDelay: Duration
    /// The longest wait between attempts (see ``reconnectDelay``).
    public var maxReconnectDelay: Duration
    /// Failed attempts in a row after which the connection gives up and closes; `nil` never gives up.
    public var maxReconnectAttempts: Int?
    /// Default timeout of ``NATSConnection/request(_:to:headers:timeout:)`` and ``NATSConnection/flush(timeout:)``.
    public var requestTimeout: Duration
    /// Longest control line accepted from the server (see ``NATSProtocolParser``).
    public var maxControlLineBytes: Int
    /// Messages a ``NATSMessageStream`` holds for a consumer that is behind; more are dropped and
    /// counted (``NATSMessageStream/droppedMessages``) so a slow consumer never grows memory without
    /// bound nor stops the connection's reads. nats.go's default pending limit.
    public var streamBufferMessages: Int

    /// - Parameters: see the properties.
    public init(
        name: String = "canvaswire",
        connectTimeout: Duration = .seconds(5),
        pingInterval: Duration = .seconds(30),
        maxPingsOutstanding: Int = 2,
        reconnectDelay: Duration = .milliseconds(100),
        maxReconnectDelay: Duration = .seconds(5),
        maxReconnectAttempts: Int? = nil,
        requestTimeout: Duration = .seconds(5),
        maxControlLineBytes: Int = 64 << 10,
        streamBufferMessages: Int = 65_536
    ) {
        self.name = name
        self.connectTimeout = connectTimeout
        self.pingInterval = pingInterval
        self.maxPingsOutstanding = maxPingsOutstanding
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.maxReconnectAttempts = maxReconnectAttempts
        self.requestTimeout = requestTimeout
        self.maxControlLineBytes = maxControlLineBytes
        self.streamBufferMessages = streamBufferMessages
    }
}
