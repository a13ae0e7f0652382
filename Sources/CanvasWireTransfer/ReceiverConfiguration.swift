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
    /// Stop after this many frames.
    public var count: Int?
    /// Stop after this long.
    public var duration: Duration?
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
        destination: FrameWriter.Destination = .folder("."),
        format: FrameWriter.Format = .png,
        pattern: OutputPattern? = nil,
        existingFiles: FrameWriter.ExistingFiles = .refuse,
        durable: Bool = false,
        encoder: PNGEncoder.Configuration = .init(),
        count: Int? = nil,
        duration: Duration? = nil,
        writeWidth: Int? = nil,
        acknowledges: Bool = false
    ) {
        self.url = url
        self.client = client
        self.policy = policy
        self.destination = destination
        self.format = format
        self.pattern = pattern
        self.existingFiles = existingFiles
        self.durable = durable
        self.encoder = encoder
        self.count = count
        self.duration = duration
        self.writeWidth = writeWidth ?? ProcessInfo.processInfo.activeProcessorCount + 1
        self.acknowledges = acknowledges
    }

    /// ``pattern``, or the default for ``format``.
    var filePattern: OutputPattern {
        pattern ?? OutputPattern(format == .png ? "frame-%06d.png" : "frame-%06d.rgba")!
    }
}
