import ArgumentParser
import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// `canvaswire send`: captures PNGs (or raw RGBA) and publishes them, paced by `bufferedAmount`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Publish PNG files, a watched folder, or a PNG or raw RGBA stream on stdin to a stream.",
        discussion: """
            URL is a publish endpoint, for example ws://127.0.0.1:8080/streams/cam/publish. INPUT is a PNG \
            file, a folder (its PNGs in natural order: frame2 before frame10), a glob, or - for \
            concatenated PNGs on stdin (ffmpeg -f image2pipe -c:v png -). With --raw --size WxH, stdin \
            carries raw RGBA frames (ffmpeg -f rawvideo -pix_fmt rgba -). At the end of finite input the \
            sender says so ({"type":"end"}), closes with 1000 and exits 0. SIGINT or SIGTERM stops it: frames \
            already handed to the connection are written, the connection closes with 1001 and no end \
            message (the stream is not complete), and the exit status is 130 or 143.
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

    @Option(help: "Frame size of --raw input, WxH.")
    var size: String?

    @Option(help: "Frames per second; without it, as fast as the connection allows.")
    var fps: Double?

    @Flag(help: "Repeat finite file input for ever.")
    var loop = false

    @Option(help: "What goes on the wire: rgba (decoded pixels) or png (the files as they are, for slow links).")
    var format: WireFormat = .rgba

    @Option(help: "Hand over the next frame only while bufferedAmount is at most this many bytes.")
    var threshold = 8 << 20

    @Option(help: "A file that is not a valid PNG: skip it, or stop.")
    var onError: OnError = .stop

    @Flag(help: "Fail when the connection drops instead of reconnecting.")
    var noReconnect = false

    @OptionGroup var transfer: TransferOptions

    func validate() throws {
        _ = try webSocketURL()
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
    }

    func run() async throws {
        let (source, total) = try makeSource()
        let decoder = PNGDecoder()
        let wireFormat: PixelFormat = format == .png ? .png : .rgba8
        var sender = FrameSender(options: .init(
            url: try webSocketURL(),
            client: WebSocketClientConfiguration(token: transfer.token),
            threshold: threshold,
            reconnect: !noReconnect
        ))
        try await sender.open()
        let control = sender.control, json = transfer.json
        let signals = ShutdownSignals { number in
            await control.stop(code: 1001, reason: "sender stopped")
            let name = number == SIGINT ? "SIGINT" : "SIGTERM"
            let frames = control.framesSent
            if json { print("{\"frames\":\(frames),\"stoppedBy\":\"\(name)\"}") }
            writeStderr("canvaswire send: stopped by \(name) after \(frames) frames; the stream was not ended\n")
            fflush(nil)
            Glibc.exit(128 + number)
        }
        defer { signals.cancel() }
        var stats = TransferStats()
        var progress = ProgressLine(quiet: transfer.quiet)
        var skipped: [String] = []
        var sequence: UInt64 = 0
        let interval = fps.map { Duration.milliseconds(1000 / $0) }
        var nextTick = ContinuousClock.now
        let onError = self.onError

        try await orderedParallelMap(
            source,
            width: ProcessInfo.processInfo.activeProcessorCount + 1,
            transform: { item in
                Result { try PreparedFrame.prepare(item, format: wireFormat, decoder: decoder) }
                    .mapError { error in CommandFailure(description: "\(error)") }
            },
            consume: { prepared in
                let frame: PreparedFrame
                switch prepared {
                case .success(let value):
                    frame = value
                case .failure(let failure):
                    guard onError == .skip else { throw failure }
                    writeStderr("canvaswire send: skipping \(failure)\n")
                    skipped.append(failure.description)
                    return true
                }
                if let interval {
                    try await Task.sleep(until: nextTick, clock: .continuous)
                    nextTick = max(nextTick + interval, .now)  // late frames are not made up in a burst
                }
                let header = FrameHeader(
                    pixelFormat: frame.format, width: frame.size.width, height: frame.size.height,
                    sequence: sequence, captureTimeMicros: WallClock.microsecondsNow()
                )
                try await sender.send(header, payload: frame.payload)
                sequence += 1
                stats.frames += 1
                stats.bytes += frame.payload.count + FrameHeader.v1Length
                let eta = total.map { total in
                    stats.framesPerSecond > 0 ? "  ETA \(rounded(Double(total - stats.frames) / stats.framesPerSecond, decimals: 0)) s" : ""
                } ?? ""
                progress.update(
                    "\(stats.frames)\(total.map { "/\($0)" } ?? "") frames  \(rounded(stats.framesPerSecond)) fps  \(rounded(stats.megabytesPerSecond)) MB/s  bufferedAmount \(sender.bufferedAmount)\(eta)"
                )
                return true
            }
        )
        try await sender.finish(lastSequence: sequence == 0 ? nil : sequence - 1)
        progress.finish()
        let summary = Summary(
            frames: stats.frames, bytes: stats.bytes, seconds: stats.seconds,
            framesPerSecond: stats.framesPerSecond, megabytesPerSecond: stats.megabytesPerSecond,
            reconnects: sender.reconnects, skipped: skipped
        )
        if transfer.json {
            print(String(decoding: try JSONEncoder().encode(summary), as: UTF8.self))
        } else if !transfer.quiet {
            writeStderr(
                "sent \(summary.frames) frames (\(rounded(Double(summary.bytes) / 1e6)) MB) in \(rounded(summary.seconds, decimals: 2)) s: \(rounded(summary.framesPerSecond)) fps, \(rounded(summary.megabytesPerSecond)) MB/s, \(summary.reconnects) reconnects, \(skipped.count) skipped\n"
            )
        }
    }

    struct Summary: Encodable {
        var frames: Int
        var bytes: Int
        var seconds: Double
        var framesPerSecond: Double
        var megabytesPerSecond: Double
        var reconnects: Int
        var skipped: [String]
    }

    /// The publish URL; a viewer URL (`/streams/NAME`) is taken to mean that stream's publish endpoint.
    private func webSocketURL() throws -> WebSocketURL {
        var parsed: WebSocketURL
        do {
            parsed = try WebSocketURL(url)
        } catch {
            throw ValidationError("\(error)")
        }
        let segments = parsed.path.split(separator: "/")
        if segments.count == 2, segments[0] == "streams" {
            parsed.target = parsed.path + "/publish" + parsed.target.dropFirst(parsed.path.count)
        }
        return parsed
    }

    /// The input as a stream of items, and how many there are when that is known (for the ETA).
    private func makeSource() throws -> (AsyncThrowingStream<SourceItem, any Error>, total: Int?) {
        if raw, let size, let frameSize = FrameSize(parsing: size) {
            return (FrameSource.rawStream(size: frameSize), nil)
        }
        if let watch {
            return (FrameSource.watching(try FolderWatcher(folder: watch)), nil)
        }
        if inputs == ["-"] {
            return (FrameSource.pngStream(limits: .default), nil)
        }
        let files = try InputFiles.expand(inputs)
        return (FrameSource.files(files, loop: loop), loop ? nil : files.count)
    }
}
