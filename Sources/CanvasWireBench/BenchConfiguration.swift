public import CanvasWireClient
public import CanvasWireCore

/// Everything a ``Bench`` can be told, with `canvaswire bench`'s defaults.
public struct BenchConfiguration: Sendable {
    /// What is measured.
    public enum Mode: Sendable {
        /// One publisher and its viewers on one stream, every payload verified.
        case stream
        /// Round trips through `WS /echo`, one message in flight.
        case echo
        /// This many viewers that connect and do nothing: the server's memory per connection.
        case idle(viewers: Int)
    }

    /// The server a bench without a URL starts for itself.
    public enum LocalServer: Sendable {
        /// `EXECUTABLE serve --port 0` as a child process, so its CPU time and memory are measured
        /// apart from the load generator's.
        case childProcess(executable: String)
        /// A ``CanvasWireServer`` inside this process (no separate CPU and memory figures).
        case inProcess
    }

    /// What is measured.
    public var mode: Mode
    /// A stream (`ws://HOST:PORT/streams/NAME`) or `/echo` URL; `nil` starts ``localServer``.
    public var url: WebSocketURL?
    /// Where the publisher connects, when not ``url`` + `/publish`: another node of a cluster.
    public var publishURL: WebSocketURL?
    /// Where the viewers connect, in turn (viewer *i* to URL *i* modulo their number), when not ``url``:
    /// a stream's viewers spread over the nodes of a cluster.
    public var viewerURLs: [WebSocketURL]
    /// The server started when there is no ``url``.
    public var localServer: LocalServer
    /// Each size is measured in turn, one report each.
    public var sizes: [FrameSize]
    /// Viewers that read as fast as they can.
    public var viewers: Int
    /// The delivery policy of the ``viewers``.
    public var policy: DeliveryPolicy
    /// Viewers that read at most ``slowRate`` bytes per second, besides ``viewers``.
    public var slowViewers: Int
    /// Bytes per second a slow viewer reads at most.
    public var slowRate: Double
    /// The delivery policy of the slow viewers.
    public var slowPolicy: DeliveryPolicy
    /// What the publisher sends (stream runs).
    public var content: BenchContent
    /// How every viewer, fast or slow, asks for frames: whole, or only what changed.
    public var encoding: ViewerEncoding
    /// Frames to publish (round trips in ``Mode/echo``); `nil` runs for ``duration``.
    public var frames: Int?
    /// How long to publish; `nil` with ``frames`` `nil` means 5 seconds.
    public var duration: Duration?
    /// Publishing rate; `nil` publishes as fast as `bufferedAmount` allows.
    public var framesPerSecond: Double?
    /// The publisher hands over the next frame only while `bufferedAmount` is at most this.
    public var threshold: Int
    /// The process id of the server at ``url``, to report its CPU and memory from `/proc`.
    public var serverPID: Int32?
    /// How long viewers may take to receive the rest of the stream after the publisher finished.
    public var drainTimeout: Duration
    /// Token, TLS and limits of every connection.
    public var client: WebSocketClientConfiguration

    /// - Parameters: see the properties.
    public init(
        mode: Mode = .stream,
        url: WebSocketURL? = nil,
        publishURL: WebSocketURL? = nil,
        viewerURLs: [WebSocketURL] = [],
        localServer: LocalServer = .inProcess,
        sizes: [FrameSize] = [FrameSize(width: 640, height: 360)],
        viewers: Int = 1,
        policy: DeliveryPolicy = .all,
        slowViewers: Int = 0,
        slowRate: Double = 10e6,
        slowPolicy: DeliveryPolicy = .latest,
        content: BenchContent = .generated,
        encoding: ViewerEncoding = .raw,
        frames: Int? = nil,
        duration: Duration? = nil,
        framesPerSecond: Double? = nil,
        threshold: Int = 8 << 20,
        serverPID: Int32? = nil,
        drainTimeout: Duration = .seconds(30),
        client: WebSocketClientConfiguration = .init()
    ) {
        self.mode = mode
        self.url = url
        self.publishURL = publishURL
        self.viewerURLs = viewerURLs
        self.localServer = localServer
        self.sizes = sizes
        self.viewers = viewers
        self.policy = policy
        self.slowViewers = slowViewers
        self.slowRate = slowRate
        self.slowPolicy = slowPolicy
        self.content = content
        self.encoding = encoding
        self.frames = frames
        self.duration = duration
        self.framesPerSecond = framesPerSecond
        self.threshold = threshold
        self.serverPID = serverPID
        self.drainTimeout = drainTimeout
        self.client = client
    }
}
