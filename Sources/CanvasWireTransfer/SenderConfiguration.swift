public import CanvasWireClient
public import CanvasWireCore
import FoundationEssentials

/// Everything a ``Sender`` can be told, with `canvaswire send`'s defaults.
public struct SenderConfiguration: Sendable {
    /// What to do with an input that is not a valid PNG.
    public enum InvalidInput: Sendable {
        /// Report it (``SenderEvent/skipped(_:)``) and go on with the next frame.
        case skip
        /// Throw its error: nothing after it is sent and the stream is not ended.
        case stop
    }

    /// The publish endpoint, `ws[s]://HOST:PORT/streams/NAME/publish`.
    public var url: WebSocketURL
    /// Token, TLS and limits of the connection.
    public var client: WebSocketClientConfiguration
    /// What goes on the wire: `.rgba8` (decoded pixels) or `.png` (the files as they are, for slow
    /// links). PNGs are decoded either way, so a broken file never reaches a viewer.
    public var wireFormat: PixelFormat
    /// Whether RGBA8 frames go out as deltas, only the tiles that changed since the frame before,
    /// wherever that is smaller (whole first, after a size change and on every new connection): a
    /// screen recording or a mostly still camera costs a few percent of the bytes.
    public var deltas: Bool
    /// Frames per second; `nil` sends as fast as `bufferedAmount` allows.
    public var framesPerSecond: Double?
    /// Hand over the next frame only while `bufferedAmount` is at most this many bytes.
    public var threshold: Int
    /// Skip or stop at an input that is not a valid PNG.
    public var invalidInput: InvalidInput
    /// Whether a lost connection is replaced (resending what it never wrote) instead of thrown.
    public var reconnects: Bool
    /// How long transient failures (nothing listening, a lost connection, HTTP 503, close 1013, ...)
    /// are retried without a successful connection before the sender gives up; failures that cannot
    /// heal (an invalid stream name, HTTP 401, close 1008, ...) are thrown at once.
    public var retryFor: Duration
    /// Frames decoded at once. One more than the cores keeps every core decoding while the next
    /// file is read.
    public var decodeWidth: Int

    /// - Parameters: see the properties; only `url` has no default, and `decodeWidth` `nil` means one
    ///   more than the cores.
    public init(
        url: WebSocketURL,
        client: WebSocketClientConfiguration = .init(),
        wireFormat: PixelFormat = .rgba8,
        deltas: Bool = false,
        framesPerSecond: Double? = nil,
        threshold: Int = 8 << 20,
        invalidInput: InvalidInput = .stop,
        reconnects: Bool = true,
        retryFor: Duration = .seconds(60),
        decodeWidth: Int? = nil
    ) {
        self.url = url
        self.client = client
        self.wireFormat = wireFormat
        self.deltas = deltas
        self.framesPerSecond = framesPerSecond
        self.threshold = threshold
        self.invalidInput = invalidInput
        self.reconnects = reconnects
        self.retryFor = retryFor
        self.decodeWidth = decodeWidth ?? ProcessInfo.processInfo.activeProcessorCount + 1
    }
}
