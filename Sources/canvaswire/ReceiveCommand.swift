import ArgumentParser
import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import CanvasWireTransfer
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
            the newest frames only. Frames cross the wire as deltas (only the rectangles that changed) \
            wherever that is smaller and are rebuilt here, so every file is byte for byte the frame \
            published; --encoding raw takes them whole. Each file is written under a temporary name and \
            renamed into place, so a kill at any moment leaves only complete files.

            It saves one run of the stream: the first one live while it listens (start receive first, then \
            send). A frame left from an earlier run (a reused stream name keeps its latest frame) is never \
            written, and a sender that reconnects and continues its run is followed. It stops cleanly, exit \
            status 0, when that run ends or a different run starts, after exactly --count frames, after \
            --duration seconds, or when the server closes; after a failed write nothing more is written. \
            --resume keeps the files an earlier receiver wrote and skips their frames, so a restarted \
            receiver carries on without rewriting or refusing anything. SIGINT or SIGTERM stops it cleanly: \
            frames already received are written, the connection is closed with 1001, the summary is \
            printed, and the exit status is 130 or 143.
            """
    )

    @Argument(help: "Viewer URL: ws[s]://HOST:PORT/streams/NAME")
    var url: String

    @Option(help: "Folder to write frames into (it must exist).")
    var out = "."

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Write the frames to standard output: -o - (stdout only; for files use --out DIR).",
        valueName: "-"
    ))
    var output: String?

    @Option(help: "File name pattern; %06d is the frame's sequence number. Default: frame-%06d.png (or .rgba).")
    var pattern: String?

    @Option(help: "png or rgba (raw pixels, width*height*4 bytes a frame).")
    var format: FrameWriter.Format = .png

    @Option(help: "delta: only the rectangles that changed cross the wire and each frame is rebuilt here, byte for byte; raw: every frame whole.")
    var encoding: ViewerEncoding = .delta

    @Flag(inversion: .prefixedNo, help: "Offer permessage-deflate, so the server may compress what pays (deltas, screen content); --no-deflate receives everything as it is.")
    var deflate = true

    @Flag(help: "Live view: take the newest frames (policy=latest) instead of every frame, acknowledging each once written (ack=N, one per writer) so the server sends the newest frame whenever a writer is free.")
    var live = false

    @Option(help: "Stop after exactly this many frames written.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Flag(help: "With -o - --format rgba: let frames of a new size follow, which a raw stream cannot mark.")
    var allowSizeChange = false

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
        // An invalid URL or stream name is thrown as it is: one line, exit status 1.
        _ = try WebSocketURL(url).streamName()
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
        let receiver = Receiver(configuration: try makeConfiguration())
        let signals = ShutdownSignals { number in await receiver.stop(reason: ShutdownSignals.name(of: number)) }
        defer { signals.cancel() }
        let progress = ProgressLine(quiet: transfer.quiet)
        let summary = try await receiver.run { progress.update($0.description) }
        progress.finish()
        if transfer.json {
            let text = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self) + "\n"
            if output == "-" { writeStderr(text) } else { print(text, terminator: "") }
        } else if !transfer.quiet {
            writeStderr("\(summary)\n")
        }
        if let number = signals.received { throw ExitCode(128 + number) }
        if let failure = summary.failure { throw failure }
    }

    func makeConfiguration() throws -> ReceiverConfiguration {
        var encoder = PNGEncoder.Configuration()
        if let level { encoder.level = level }
        if let filter, let chosen = PNGEncoder.Filter(name: filter) { encoder.filter = chosen }
        return ReceiverConfiguration(
            url: try WebSocketURL(url),
            client: WebSocketClientConfiguration(token: transfer.token, compression: deflate ? .receive : .off),
            policy: live ? .latest : .all,
            encoding: encoding,
            destination: output == "-" ? .standardOutput : .folder(out),
            format: format,
            pattern: pattern.flatMap(OutputPattern.init),
            existingFiles: overwrite ? .replace : resume ? .keep : .refuse,
            durable: sync,
            encoder: encoder,
            count: count,
            duration: duration.map { .seconds($0) },
            allowsSizeChange: allowSizeChange,
            acknowledges: live
        )
    }
}
