public import CanvasWireCore
public import NIOSSL

/// Everything `canvaswire serve` can be told, with defaults that suit a local relay of 1080p frames.
public struct ServerConfiguration: Sendable {
    /// Address to bind; `127.0.0.1` keeps the relay private to this machine.
    public var host: String
    /// TCP port; 0 asks the kernel for a free one (tests read it back from ``CanvasWireServer/port``).
    public var port: Int
    /// Size limits every incoming frame is checked against before anything is allocated for it.
    public var limits: FrameLimits
    /// A connection's `bufferedAmount` above which a `latest` viewer gets no new frames and a lossless
    /// viewer pauses its publisher.
    public var highWaterMark: Int
    /// The `bufferedAmount` a lossless viewer must drain to before its publisher is read again.
    public var lowWaterMark: Int
    /// How long a lossless viewer may hold its publisher back (above its high-water mark, or with frames
    /// waiting for its acks) before it is disconnected, so a stuck receiver cannot stall its stream for ever.
    public var stallTimeout: Duration
    /// Kernel socket options of viewer connections, which bound what the kernel holds per viewer.
    public var viewerSocket: ViewerSocketOptions
    /// Required to publish when set; see ``tokenRequiredForViewers``.
    public var token: String?
    /// Whether viewers need ``token`` too.
    public var tokenRequiredForViewers: Bool
    /// Origins (`scheme://host:port`) besides the server's own whose pages may open WebSockets here.
    public var allowedOrigins: [String]
    /// TLS for https and wss; `nil` serves plain http and ws.
    public var tls: TLSConfiguration?
    /// Connections served at once; more are refused with HTTP 503.
    public var maxConnections: Int
    /// Streams that may exist at once; publishing or viewing a new name beyond it is refused.
    public var maxStreams: Int
    /// How long a stream with no publisher and no viewers is kept (with its latest frame, for late
    /// viewers and `latest.png`) before it is forgotten; zero forgets it as soon as it is unused.
    public var streamIdleTimeout: Duration
    /// Time a new connection has to complete its HTTP request or WebSocket handshake.
    public var handshakeTimeout: Duration
    /// How often the server pings an idle WebSocket peer.
    public var pingInterval: Duration
    /// A WebSocket peer that sends nothing (not even a pong) for this long is closed.
    public var deadPeerTimeout: Duration
    /// How long the server waits for a peer's close frame after sending its own (or, after a protocol
    /// error, for the peer to hang up) before it closes the TCP connection regardless.
    public var closeTimeout: Duration
    /// When messages to viewers are compressed with permessage-deflate, for clients that offer it.
    public var deflate: DeflateMode
    /// Whether `WS /echo` is served.
    public var echoEnabled: Bool
    /// Whether the built-in animated `demo` stream runs.
    public var demoStream: DemoStreamConfiguration?
    /// Joins this server to a cluster of relay nodes through NATS; `nil` (the default) serves alone
    /// and creates nothing of the cluster.
    public var cluster: ClusterConfiguration?

    /// - Parameters: see the properties; every one has a default fit for local use.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        limits: FrameLimits = .default,
        highWaterMark: Int = 2 << 20,
        lowWaterMark: Int = 512 << 10,
        stallTimeout: Duration = .seconds(30),
        viewerSocket: ViewerSocketOptions = ViewerSocketOptions(),
        token: String? = nil,
        tokenRequiredForViewers: Bool = false,
        allowedOrigins: [String] = [],
        tls: TLSConfiguration? = nil,
        maxConnections: Int = 4096,
        maxStreams: Int = 256,
        streamIdleTimeout: Duration = .seconds(300),
        handshakeTimeout: Duration = .seconds(10),
        pingInterval: Duration = .seconds(20),
        deadPeerTimeout: Duration = .seconds(60),
        closeTimeout: Duration = .seconds(3),
        deflate: DeflateMode = .auto,
        echoEnabled: Bool = true,
        demoStream: DemoStreamConfiguration? = DemoStreamConfiguration(),
        cluster: ClusterConfiguration? = nil
    ) {
        self.host = host
        self.port = port
        self.limits = limits
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
        self.stallTimeout = stallTimeout
        self.viewerSocket = viewerSocket
        self.token = token
        self.tokenRequiredForViewers = tokenRequiredForViewers
        self.allowedOrigins = allowedOrigins
        self.tls = tls
        self.maxConnections = maxConnections
        self.maxStreams = maxStreams
        self.streamIdleTimeout = streamIdleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.pingInterval = pingInterval
        self.deadPeerTimeout = deadPeerTimeout
        self.closeTimeout = closeTimeout
        self.deflate = deflate
        self.echoEnabled = echoEnabled
        self.demoStream = demoStream
        self.cluster = cluster
    }
}

/// The built-in test-pattern stream that makes the viewer page show moving pixels out of the box.
public struct DemoStreamConfiguration: Sendable {
    public var name: StreamName
    public var size: FrameSize
    public var framesPerSecond: Int

    public init(name: StreamName = StreamName("demo")!, size: FrameSize = FrameSize(width: 640, height: 360), framesPerSecond: Int = 30) {
        self.name = name
        self.size = size
        self.framesPerSecond = framesPerSecond
    }
}
