public import CanvasWireClient
public import CanvasWireCore
public import CanvasWirePNG
import FoundationEssentials

/// Everything a ``Receiver`` can be told, with `canvaswire receive`'s defaults.
public struct ReceiverConfiguration: Sendable {
    /// The viewer endpoint, `ws[s]://HOST:PORT/streams/NAME`.
    public var url: WebSocketURL
    /// Token, TLS and limits of the connection.
    public var client: WebSocketClientConfiguration
    /// `.all` receives every frame (the publisher is slowed down instead); `.latest` only the newest.
    public var policy: DeliveryPolicy
    /// `.delta` has the server send only the rectangles that changed wherever that is smaller, and
    /// rebuilds each frame from them: files stay byte for byte what was published, and screen-like
    /// content costs a few percent of the bytes. `.raw` takes every frame whole.
    public var encoding: ViewerEncoding
    /// A folder (it must exist) or standard output.
    public var destination: FrameWriter.Destination
    /// PNG files, or raw RGBA (width*height*4 bytes a frame).
    public var format: FrameWriter.Format
    /// File names; `nil` means `frame-%06d.png` (or `.rgba`).
    public var pattern: OutputPattern?
    /// Refuse, replace, or keep (resume) files that already exist.
    public var existingFiles: FrameWriter.ExistingFiles
    /// Flush every file to disk before it gets its name, so it survives a power loss (slower).
    public var durable: Bool
    /// How PNG files are compressed.
    public var encoder: PNGEncoder.Configuration
    /// Stop after this many frames: exactly this many are written.
    public var count: Int?
    /// Stop after this long.
    public var duration: Duration?
    /// Whether frames of a new size may follow each other in a raw RGBA stream on stdout, which
    /// cannot say where the size changes; without it a size change is an error. Files and PNG say
    /// their size themselves.
    public var allowsSizeChange: Bool
    /// Frames encoded and written at once. One more than the cores keeps every core encoding while
    /// the next frame is read.
    public var writeWidth: Int
    /// Acknowledge each frame once it is written (`?ack=N` with N = ``writeWidth``): the server then
    /// sends a frame only when a writer is free for it, so a `latest` receiver writes frames as fresh
    /// as its disk allows instead of ones that aged in socket buffers. `receive --live` sets it.
    public var acknowledges: Bool

    /// - Parameters: see the properties; only `url` has no default, and `writeWidth` `nil` means one
    ///   more than the cores.
    public init(
        url: WebSocketURL,
        client: WebSocketClientConfiguration = .init(),
        policy: DeliveryPolicy = .all,
        encoding: ViewerEncoding = .delta,
        destination: FrameWriter.Destination = .folder("."),
        format: FrameWriter.Format = .png,
        pattern: OutputPattern? = nil,
        existingFiles: FrameWriter.ExistingFiles = .refuse,
        durable: Bool = false,
        encoder: PNGEncoder.Configuration = .init(),
        count: Int? = nil,
        duration: Duration? = nil,
        allowsSizeChange: Bool = false,
        writeWidth: Int? = nil,
        acknowledges: Bool = false
    ) {
        self.url = url
        self.client = client
        self.policy = policy
        self.encoding = encoding
        self.destination = destination
        self.format = format
        self.pattern = pattern
        self.existingFiles = existingFiles
        self.durable = durable
        self.encoder = encoder
        self.count = count
        self.duration = duration
        self.allowsSizeChange = allowsSizeChange
        self.writeWidth = writeWidth ?? ProcessInfo.processInfo.activeProcessorCount + 1
        self.acknowledges = acknowledges
    }

    /// ``pattern``, or the default for ``format``.
    var filePattern: OutputPattern {
        pattern ?? OutputPattern(format == .png ? "frame-%06d.png" : "frame-%06d.rgba")!
    }
}
