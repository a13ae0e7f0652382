import ArgumentParser
import CanvasWireBench
import CanvasWireClient
import CanvasWireCore
import FoundationEssentials

/// `canvaswire bench`: measures a relay's throughput, latency and cost with verified payloads.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput, latency and server cost of a stream (or /echo), payloads verified.",
        discussion: """
            Without URL the bench starts its own server (canvaswire serve --port 0 as a child process, \
            so its CPU time and peak memory are measured apart from the load generator's). With URL \
            (ws://HOST:PORT/streams/NAME, or ws://HOST:PORT/echo with --echo) it runs against that \
            server; --server-pid PID adds the server's CPU and memory when it runs on this machine. \
            Every frame is derived from its sequence number and checked byte for byte by each viewer, \
            after any delta was applied; a corrupt or out-of-order frame makes the bench exit non-zero. \
            --content screen, video or noise publishes synthetic frames instead of generated payloads, \
            and --encoding delta has the viewers take only what changed: the report gives the bytes \
            that crossed each viewer's wire per frame and their ratio to whole frames. MB is 10^6 bytes \
            of payload; latency is from the frame's capture time to its receipt by the viewer.
            """
    )

    @Argument(help: "ws://HOST:PORT/streams/NAME (or .../echo with --echo); omit to start a local server.")
    var url: String?

    @Option(help: "Where the publisher connects instead of URL/publish (another node of a cluster).")
    var publishURL: String?

    @Option(help: "Where the viewers connect instead of URL, in turn; repeat it to spread them over a cluster's nodes.")
    var viewerURL: [String] = []

    @Flag(help: "Measure round trips through WS /echo instead of a stream.")
    var echo = false

    @Option(help: "Viewers that read as fast as they can.")
    var viewers = 1

    @Option(help: "Frame size WxH; a comma-separated list or a repeated option runs each size in turn.")
    var size: [String] = ["640x360"]

    @Option(help: "Frames to publish (round trips with --echo).")
    var frames: Int?

    @Option(help: "Seconds to publish for (default 5 when --frames is not given).")
    var duration: Double?

    @Option(help: "Frames per second to publish at; without it, as fast as bufferedAmount allows.")
    var fps: Double?

    @Option(help: "Delivery policy of the viewers.")
    var policy: DeliveryPolicy = .all

    @Option(help: "Viewers that read at most --slow-rate MB/s, besides --viewers.")
    var slowViewers = 0

    @Option(help: "Read rate of a slow viewer, in MB/s.")
    var slowRate = 10.0

    @Option(help: "Delivery policy of the slow viewers.")
    var slowPolicy: DeliveryPolicy = .latest

    @Option(help: "What the publisher sends: generated (payloads that change every byte every frame), or synthetic screen, video or noise frames.")
    var content: BenchContent = .generated

    @Option(help: "How the viewers take RGBA frames: raw (whole) or delta (only the rectangles that changed).")
    var encoding: ViewerEncoding = .raw

    @Option(help: "The publisher hands over the next frame only while its bufferedAmount is at most this many bytes.")
    var threshold = 8 << 20

    @Option(help: "Instead of a stream: open this many idle viewers and report the server's memory per connection.")
    var idleViewers: Int?

    @Option(help: "Process id of the server at URL, to report its CPU time and memory from /proc.")
    var serverPid: Int32?

    @Flag(help: "Run the local server inside the bench process (no separate CPU and memory figures).")
    var inProcess = false

    @Option(help: "Seconds a viewer may take to receive the rest of the stream after the publisher finished.")
    var drainTimeout = 30.0

    @Flag(help: "Viewers (and echo) offer permessage-deflate, so the server compresses where its --deflate mode says; without it nothing is compressed, to measure the relay itself.")
    var deflate = false

    @OptionGroup var transfer: TransferOptions

    private var sizes: [FrameSize] {
        size.flatMap { $0.split(separator: ",") }.compactMap { FrameSize(parsing: $0) }
    }

    func validate() throws {
        let listed = size.flatMap { $0.split(separator: ",") }
        guard !listed.isEmpty, listed.allSatisfy({ FrameSize(parsing: $0) != nil }) else {
            throw ValidationError("--size must look like 1920x1080 or 640x360,1920x1080")
        }
        guard viewers >= 0, slowViewers >= 0 else { throw ValidationError("--viewers and --slow-viewers cannot be negative") }
        if let frames, frames < 0 { throw ValidationError("--frames cannot be negative") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let fps, fps <= 0 { throw ValidationError("--fps must be positive") }
        guard slowRate > 0 else { throw ValidationError("--slow-rate must be positive") }
        if let url { _ = try parse(url) }
        if publishURL != nil || !viewerURL.isEmpty {
            guard url != nil, !echo, idleViewers == nil else {
                throw ValidationError("--publish-url and --viewer-url go with a stream URL (and neither --echo nor --idle-viewers)")
            }
            if let publishURL { _ = try parse(publishURL, keepingPublish: true) }
            for viewer in viewerURL { _ = try parse(viewer) }
        }
        guard serverPid == nil || url != nil else { throw ValidationError("--server-pid goes with a URL") }
    }

    func run() async throws {
        let reports = try await Bench(configuration: try makeConfiguration()).run()
        if transfer.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(["runs": reports]), as: UTF8.self))
        } else {
            print(reports.map { $0.table() }.joined(separator: "\n\n"))
        }
        try Bench.check(reports)
    }

    func makeConfiguration() throws -> BenchConfiguration {
        BenchConfiguration(
            mode: echo ? .echo : idleViewers.map { .idle(viewers: $0) } ?? .stream,
            url: try url.map { try parse($0) },
            publishURL: try publishURL.map { try parse($0, keepingPublish: true) },
            viewerURLs: try viewerURL.map { try parse($0) },
            localServer: inProcess ? .inProcess : .childProcess(executable: "/proc/self/exe"),
            sizes: sizes, viewers: viewers, policy: policy,
            slowViewers: slowViewers, slowRate: slowRate * 1e6, slowPolicy: slowPolicy, content: content, encoding: encoding,
            frames: frames, duration: duration.map { .seconds($0) }, framesPerSecond: fps, threshold: threshold,
            serverPID: serverPid, drainTimeout: .seconds(drainTimeout),
            client: WebSocketClientConfiguration(token: transfer.token, compression: deflate ? .receive : .off)
        )
    }

    private func parse(_ text: String, keepingPublish: Bool = false) throws -> WebSocketURL {
        var parsed: WebSocketURL
        do {
            parsed = try WebSocketURL(text)
        } catch {
            throw ValidationError("\(error)")
        }
        if !echo, !keepingPublish, parsed.path.hasSuffix("/publish") {
            parsed.target = String(parsed.path.dropLast("/publish".count))
        }
        return parsed
    }
}
