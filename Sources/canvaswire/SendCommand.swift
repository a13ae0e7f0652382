import ArgumentParser
import CanvasWireClient
import CanvasWireCore
import CanvasWireTransfer
import FoundationEssentials

/// `canvaswire send`: captures PNGs (or raw RGBA) and publishes them, paced by `bufferedAmount`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Publish PNG files, a watched folder, or a PNG or raw RGBA stream on stdin to a stream.",
        discussion: """
            URL is a publish endpoint, for example ws://127.0.0.1:8080/streams/cam/publish. INPUT is a PNG \
            file, a folder (its PNGs in natural order: frame2 before frame10), a glob, or - for \
            concatenated PNGs on stdin (ffmpeg -f image2pipe -c:v png -). With --raw --size WxH, stdin \
            carries raw RGBA frames (ffmpeg -f rawvideo -pix_fmt rgba -). With --delta a frame goes as the \
            16-pixel tiles that changed since the one before wherever that is smaller, and whole first, \
            after a size change and after a reconnect. At the end of finite input the \
            sender says so ({"type":"end"}), closes with 1000 and exits 0; input without a single image is \
            an error. SIGINT or SIGTERM stops it: frames already handed to the connection are written, the \
            connection closes with 1001 and no end message (the stream is not complete), and the exit \
            status is 130 or 143.

            Failures that can heal are retried with a backoff (250 ms doubling to 5 s) for --retry-for \
            seconds (60 by default) without a successful connection: nothing listening yet, a lost or \
            reset connection, HTTP 503 (the server's stream limit) or 429, close codes 1001, 1011, 1012 \
            and 1013. A reconnect continues the same run of the stream (?run=ID), so a receiver keeps \
            saving, and first resends the frames the lost connection never wrote. Failures that cannot \
            heal end the sender at once: an invalid URL or stream name, HTTP 400, 401 (token), 403 \
            (origin) or 404, close codes 1002, 1003, 1007, 1008 (for example a second publisher) and 1009. \
            Either way the exit status is 1, with one line saying why.
            """
    )

    enum WireFormat: String, ExpressibleByArgument, CaseIterable {
        case rgba, png
    }

    enum OnError: String, ExpressibleByArgument, CaseIterable {
        case skip, stop
    }

    @Argument(help: "Publish URL: ws[s]://HOST:PORT/streams/NAME/publish")
    var url: String

    @Argument(help: "PNG files, folders, globs, or - for a PNG stream on stdin.")
    var inputs: [String] = []

    @Option(help: "Watch this folder and send every PNG written or moved into it.")
    var watch: String?

    @Flag(help: "Read raw RGBA frames from stdin (needs --size).")
    var raw = false

    @Option(help: "Frame size of --raw input, WxH, both at least 1.")
    var size: String?

    @Option(help: "Frames per second; without it, as fast as the connection allows.")
    var fps: Double?

    @Flag(help: "Repeat finite file input for ever.")
    var loop = false

    @Option(help: "What goes on the wire: rgba (decoded pixels) or png (the files as they are, for slow links).")
    var format: WireFormat = .rgba

    @Flag(help: "Send each frame as a delta of the tiles that changed since the one before, wherever that is smaller (whole first, after a size change and after a reconnect): for screen recordings and still cameras.")
    var delta = false

    @Option(help: "Hand over the next frame only while bufferedAmount is at most this many bytes.")
    var threshold = 8 << 20

    @Option(help: "A file that is not a valid PNG: skip it, or stop.")
    var onError: OnError = .stop

    @Flag(help: "Compress every frame with permessage-deflate where the server agrees (serve --deflate on): for slow links and screen content; it costs this side CPU.")
    var deflate = false

    @Flag(help: "Fail at the first connection failure instead of retrying and reconnecting.")
    var noReconnect = false

    @Option(help: ArgumentHelp(
        "How long to retry failures that can heal without a successful connection before giving up.",
        valueName: "seconds"
    ))
    var retryFor: Double = 60

    @OptionGroup var transfer: TransferOptions

    func validate() throws {
        _ = try webSocketURL()
        if let size, FrameSize(parsing: size) == nil {
            throw ValidationError("--size \(size) is not a valid size: give WIDTHxHEIGHT, both at least 1, like 1920x1080")
        }
        guard raw || size == nil else { throw ValidationError("--size goes with --raw; PNGs carry their own size") }
        if raw {
            guard let size, let frameSize = FrameSize(parsing: size) else {
                throw ValidationError("--raw needs --size WxH, for example --size 1920x1080")
            }
            do {
                try FrameLimits.default.check(width: frameSize.width, height: frameSize.height)
            } catch {
                throw ValidationError("--size \(size): \(error)")
            }
            guard inputs.isEmpty, watch == nil else { throw ValidationError("--raw reads stdin only; drop the other inputs") }
        } else {
            guard !inputs.isEmpty || watch != nil else { throw ValidationError("give PNG files, a folder, -, --watch DIR or --raw") }
            guard watch == nil || inputs.isEmpty else { throw ValidationError("--watch cannot be combined with other inputs") }
            guard !inputs.contains("-") || inputs == ["-"] else { throw ValidationError("- (stdin) cannot be combined with files") }
        }
        guard !loop || (!raw && watch == nil && !inputs.contains("-")) else {
            throw ValidationError("--loop repeats files only, not stdin or a watched folder")
        }
        if let fps, fps <= 0 { throw ValidationError("--fps must be positive") }
        if delta, format == .png { throw ValidationError("--delta sends RGBA pixels that changed; it cannot go with --format png") }
        guard retryFor >= 0, retryFor.isFinite else { throw ValidationError("--retry-for must be 0 or more seconds") }
    }

    func run() async throws {
        let source = try makeSource()
        let configuration = try makeConfiguration()
        let progress = ProgressLine(quiet: transfer.quiet)
        let sender = Sender(configuration: configuration)
        // A signal cancels the sending task: it closes with 1001, sends no end message and returns.
        let (signalled, signal) = AsyncStream<Void>.makeStream()
        let signals = ShutdownSignals { _ in signal.finish() }
        defer { signals.cancel() }
        let summary = try await withThrowingTaskGroup(of: SenderSummary?.self) { group in
            group.addTask {
                try await sender.run(source) { event in
                    switch event {
                    case .progress(let figures): progress.update(figures.description)
                    case .skipped(let error): writeStderr("canvaswire send: skipping \(error)\n")
                    case .reconnecting(let retry): report(retry, on: progress)
                    }
                }
            }
            group.addTask {
                for await _ in signalled {}
                return nil
            }
            while let outcome = try await group.next() {
                group.cancelAll()
                if let summary = outcome { return summary }
            }
            throw CancellationError()
        }
        progress.finish()
        if summary.stopped, let number = signals.received, let name = signals.receivedName {
            if transfer.json { print("{\"frames\":\(summary.frames),\"stoppedBy\":\"\(name)\"}") }
            writeStderr("canvaswire send: stopped by \(name) after \(summary.frames) frames; the stream was not ended\n")
            throw ExitCode(128 + number)
        }
        if transfer.json {
            print(String(decoding: try JSONEncoder().encode(summary), as: UTF8.self))
        } else if !transfer.quiet {
            writeStderr("\(summary)\n")
        }
    }

    func makeConfiguration() throws -> SenderConfiguration {
        SenderConfiguration(
            url: try webSocketURL(),
            client: WebSocketClientConfiguration(token: transfer.token, compression: deflate ? .sendAndReceive : .receive),
            wireFormat: format == .png ? .png : .rgba8,
            deltas: delta,
            framesPerSecond: fps,
            threshold: threshold,
            invalidInput: onError == .skip ? .skip : .stop,
            reconnects: !noReconnect,
            retryFor: .milliseconds(Int64(retryFor * 1000))
        )
    }

    /// A lost connection gets one line, so a log shows the gap; every attempt (and the first
    /// connection's attempts, which end in one error line if they never succeed) shows on the
    /// progress line only.
    private func report(_ retry: ReconnectingPublisher.Retry, on progress: ProgressLine) {
        let left = retry.remaining.components.seconds + (retry.remaining.components.attoseconds > 0 ? 1 : 0)
        if retry.wasConnected, retry.attempt == 1 {
            writeStderr("canvaswire send: \(retry.error); reconnecting for up to \(left) s\n")
        }
        progress.update("\(retry.error); retrying (attempt \(retry.attempt), up to \(left) s more)")
    }

    /// The publish URL; a viewer URL (`/streams/NAME`) is taken to mean that stream's publish endpoint.
    /// An invalid URL or stream name is thrown as it is: one line, exit status 1, like every failure
    /// that cannot heal.
    private func webSocketURL() throws -> WebSocketURL {
        var parsed = try WebSocketURL(url)
        _ = try parsed.streamName()
        let segments = parsed.path.split(separator: "/")
        if segments.count == 2, segments[0] == "streams" {
            parsed.target = parsed.path + "/publish" + parsed.target.dropFirst(parsed.path.count)
        }
        return parsed
    }

    /// The input as a lazy stream of items, and how many there are when that is known (for the ETA).
    private func makeSource() throws -> FrameSource {
        if raw, let size, let frameSize = FrameSize(parsing: size) { return .rawStream(size: frameSize) }
        if let watch { return try .watching(folder: watch) }
        if inputs == ["-"] { return .pngStream() }
        return try .inputs(inputs, loop: loop)
    }
}
