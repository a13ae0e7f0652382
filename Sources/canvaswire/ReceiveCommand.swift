import ArgumentParser
import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// `canvaswire receive`: subscribes to a stream and writes its frames as PNG (or raw RGBA) files.
struct ReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Save a stream's frames as PNG or raw RGBA files, losing nothing and leaving nothing half-written.",
        discussion: """
            URL is a viewer endpoint, for example ws://127.0.0.1:8080/streams/cam. By default every frame \
            is received (policy=all: the publisher is slowed down rather than frames dropped); --live takes \
            the newest frames only. Each file is written under a temporary name and renamed into place, so \
            a kill at any moment leaves only complete files. Stops at the stream's end message, after \
            --count frames or --duration seconds, or when the server closes. --resume keeps the files a \
            previous run wrote and skips their frames, so a restarted receiver carries on without rewriting \
            or refusing anything. SIGINT or SIGTERM stops it cleanly: frames already received are written, \
            the connection is closed with 1001, the summary is printed, and the exit status is 130 or 143.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case png, rgba
    }

    @Argument(help: "Viewer URL: ws[s]://HOST:PORT/streams/NAME")
    var url: String

    @Option(help: "Folder to write frames into (it must exist).")
    var out = "."

    @Option(name: .shortAndLong, help: "Write one stream to a destination instead of files: - for stdout.")
    var output: String?

    @Option(help: "File name pattern; %06d is the frame's sequence number. Default: frame-%06d.png (or .rgba).")
    var pattern: String?

    @Option(help: "png or rgba (raw pixels, width*height*4 bytes a frame).")
    var format: OutputFormat = .png

    @Flag(help: "Live view: take the newest frames (policy=latest) instead of every frame.")
    var live = false

    @Option(help: "Stop after this many frames.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Flag(help: "Replace files that already exist.")
    var overwrite = false

    @Flag(help: "Keep files that already exist and skip their frames: carry on after a restart without rewriting anything.")
    var resume = false

    @Flag(help: "Flush every file to disk before it gets its name, so it survives a power loss (slower). A killed receiver never leaves a partial file either way.")
    var sync = false

    @Option(help: "PNG zlib level, 0-9 (default favours speed).")
    var level: Int?

    @Option(help: "PNG filter: none, sub, up, average, paeth, adaptive.")
    var filter: String?

    @OptionGroup var transfer: TransferOptions

    func validate() throws {
        do { _ = try WebSocketURL(url) } catch { throw ValidationError("\(error)") }
        if let output, output != "-" { throw ValidationError("-o takes - (stdout) only; use --out DIR for files") }
        if let pattern, OutputPattern(pattern) == nil {
            throw ValidationError("--pattern needs exactly one %d or %0Nd and no /, like frame-%06d.png")
        }
        if let level, !(0...9).contains(level) { throw ValidationError("--level must be 0 to 9") }
        if let filter, PNGEncoder.Filter(name: filter) == nil {
            throw ValidationError("--filter must be one of \(PNGEncoder.Filter.all.map(\.name).joined(separator: ", "))")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if resume, overwrite { throw ValidationError("--resume keeps existing files and --overwrite replaces them: pick one") }
        if resume, output != nil { throw ValidationError("--resume applies to files in --out, not to -o -") }
        if output == nil {
            guard InputFiles.isDirectory(out) else { throw ValidationError("--out \(out): no such folder") }
            guard access(out, W_OK) == 0 else { throw ValidationError("--out \(out): folder is not writable") }
        }
    }

    func run() async throws {
        let subscriber = try await StreamSubscriber.connect(
            to: try WebSocketURL(url), policy: live ? .latest : .all,
            configuration: WebSocketClientConfiguration(token: transfer.token)
        )
        let writer = FrameWriter(
            folder: out,
            pattern: OutputPattern(pattern ?? (format == .png ? "frame-%06d.png" : "frame-%06d.rgba"))!,
            toStdout: output == "-",
            format: format,
            overwrite: overwrite,
            resume: resume,
            durable: sync,
            encoder: PNGEncoder(configuration: encoderConfiguration()),
            decoder: PNGDecoder(limits: subscriber.hello.limits.frameLimits)
        )
        var stats = TransferStats()
        var progress = ProgressLine(quiet: transfer.quiet)
        var dropped: UInt64 = 0
        var skipped = 0
        var ended = false
        let limit = count
        // A stop request closes the connection; the events end, frames already received are written.
        let signals = ShutdownSignals { [connection = subscriber.connection] _ in
            await connection.close(code: 1001, reason: "receiver stopped")
        }
        defer { signals.cancel() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            if let duration {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
                    await subscriber.connection.close(code: 1000, reason: "duration reached")
                }
            }
            /// Records a frame that is out; `false` once --count frames are.
            func countFrame(bytes: Int) -> Bool {
                stats.frames += 1
                stats.bytes += bytes
                progress.update("\(stats.frames) frames  \(rounded(stats.framesPerSecond)) fps  \(rounded(stats.megabytesPerSecond)) MB/s  dropped \(dropped)")
                return limit.map { stats.frames < $0 } ?? true
            }
            try await orderedParallelMap(
                subscriber.events,
                width: ProcessInfo.processInfo.activeProcessorCount + 1,
                transform: { event in try writer.prepare(event) },
                consume: { output in
                    switch output {
                    case .written(let size):
                        return countFrame(bytes: size)
                    case .encoded(let bytes):
                        try writer.writeToStdout(bytes)
                        return countFrame(bytes: bytes.count)
                    case .dropped(let total):
                        dropped = total
                        return true
                    case .skipped:
                        skipped += 1
                        return true
                    case .ended:
                        ended = true
                        return false
                    case .ignored:
                        return true
                    }
                }
            )
            group.cancelAll()
        }
        var info = subscriber.connection.closeInfo
        if info == nil { info = await subscriber.connection.close(code: 1000, reason: "done") }
        let closed = info ?? CloseInfo(code: 1006, reason: "", wasClean: false)
        progress.finish()
        let summary = Summary(
            frames: stats.frames, bytes: stats.bytes, seconds: stats.seconds, framesPerSecond: stats.framesPerSecond,
            dropped: dropped, ended: ended, closeCode: Int(closed.code), closeReason: closed.reason,
            skippedExisting: skipped, stoppedBy: signals.receivedName
        )
        if transfer.json {
            let text = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self) + "\n"
            if output == "-" { writeStderr(text) } else { print(text, terminator: "") }
        } else if !transfer.quiet {
            let kept = skipped > 0 ? ", \(skipped) already on disk (kept)" : ""
            let how = signals.receivedName.map { "stopped by \($0)" } ?? (ended ? "stream ended" : "closed: \(closed)")
            writeStderr("received \(summary.frames) frames in \(rounded(summary.seconds, decimals: 2)) s: \(rounded(summary.framesPerSecond)) fps, \(dropped) dropped by the server\(kept), \(how)\n")
        }
        if let number = signals.received { throw ExitCode(128 + number) }
        if !ended, count == nil, duration == nil, ![1000, 1001].contains(closed.code) {
            throw CommandFailure(description: "the connection ended with \(closed)")
        }
    }

    struct Summary: Encodable {
        var frames: Int
        var bytes: Int
        var seconds: Double
        var framesPerSecond: Double
        var dropped: UInt64
        var ended: Bool
        var closeCode: Int
        var closeReason: String
        /// Frames whose file was already there (with --resume), left as they were.
        var skippedExisting: Int
        /// The signal that stopped the receiver, if one did.
        var stoppedBy: String?
    }

    private func encoderConfiguration() -> PNGEncoder.Configuration {
        var configuration = PNGEncoder.Configuration()
        if let level { configuration.level = level }
        if let filter, let chosen = PNGEncoder.Filter(name: filter) { configuration.filter = chosen }
        return configuration
    }
}
