public import ArgumentParser
import CanvasWireClient
import CanvasWireCore
import FoundationEssentials
import Synchronization

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
            Every payload is derived from its frame's sequence number and checked byte for byte by \
            each viewer; a corrupt or out-of-order frame makes the bench exit non-zero. MB is 10^6 \
            bytes of payload; latency is from the frame's capture time to its receipt by the viewer.
            """
    )

    @Argument(help: "ws://HOST:PORT/streams/NAME (or .../echo with --echo); omit to start a local server.")
    var url: String?

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
        guard serverPid == nil || url != nil else { throw ValidationError("--server-pid goes with a URL") }
    }

    func run() async throws {
        SelfUsage.raiseFileLimit()
        SelfUsage.keepFreedMemory()
        var server: BenchServer?
        let base: WebSocketURL
        if let url {
            base = try parse(url)
        } else {
            server = inProcess ? try await BenchServer.inProcess() : try BenchServer.child(extraArguments: [])
            base = try parse("ws://127.0.0.1:\(server!.port)\(echo ? "/echo" : "/streams/bench")")
        }
        let stats = (serverPid ?? server?.pid).map { ProcessStats(pid: $0) }
        var reports: [BenchReport] = []
        do {
            for frameSize in sizes {
                reports.append(try await measure(frameSize, at: base, stats: stats))
            }
        } catch {
            await server?.stop()
            throw error
        }
        await server?.stop()

        if transfer.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(["runs": reports]), as: UTF8.self))
        } else {
            print(reports.map { $0.table() }.joined(separator: "\n\n"))
        }
        let problems = reports.flatMap(Self.problems)
        guard problems.isEmpty else {
            throw CommandFailure(description: "bench: \(problems.joined(separator: "; "))")
        }
    }

    private func measure(_ frameSize: FrameSize, at base: WebSocketURL, stats: ProcessStats?) async throws -> BenchReport {
        let client = WebSocketClientConfiguration(token: transfer.token)
        let runDuration = duration.map { Duration.milliseconds(Int64($0 * 1000)) } ?? (frames == nil ? .seconds(5) : nil)
        let payload = BenchPayload()
        var report = BenchReport(
            mode: echo ? "echo" : idleViewers != nil ? "idle" : "stream", url: base.description,
            width: frameSize.width, height: frameSize.height,
            policy: echo || idleViewers != nil ? nil : policy.rawValue,
            framesPerSecondTarget: echo ? nil : fps,
            loadGenerator: .init(cpuSeconds: 0, cpuCores: 0)
        )
        let sampler = RSSSampler(stats: stats)
        let cpuBefore = (server: stats?.cpuSeconds(), bench: SelfUsage.cpuSeconds())
        let start = ContinuousClock.now
        if echo {
            let run = BenchEchoRun(url: base, messageBytes: frameSize.rgbaByteCount, messages: frames, duration: runDuration, client: client, payload: payload)
            report.echo = try await sampler.sampling { try await run.run() }
        } else if let idleViewers {
            guard let stats else { throw CommandFailure(description: "bench: --idle-viewers needs a local server (no URL, or --server-pid)") }
            let run = BenchIdleRun(viewerURL: base, connections: idleViewers, client: client, server: stats)
            report.idle = try await sampler.sampling { try await run.run() }
        } else {
            var publishURL = base
            publishURL.target = base.path + "/publish"
            let run = BenchStreamRun(
                options: .init(
                    publishURL: publishURL, viewerURL: base, size: frameSize, viewers: viewers, policy: policy,
                    slowViewers: slowViewers, slowPolicy: slowPolicy, slowRate: slowRate * 1e6,
                    frames: frames, duration: runDuration, framesPerSecond: fps, threshold: threshold, client: client,
                    drainTimeout: .milliseconds(Int64(drainTimeout * 1000))
                ),
                payload: payload
            )
            let (publisher, viewerReports, aggregate) = try await sampler.sampling { try await run.run() }
            report.publisher = publisher
            report.viewers = viewerReports
            report.aggregate = aggregate
        }
        let wall = inSeconds(start.duration(to: .now))
        let benchCPU = SelfUsage.cpuSeconds() - cpuBefore.bench
        report.loadGenerator = .init(cpuSeconds: benchCPU, cpuCores: benchCPU / wall)
        if let stats {
            let serverCPU = cpuBefore.server.flatMap { before in stats.cpuSeconds().map { $0 - before } }
            report.server = .init(
                pid: stats.pid, cpuSeconds: serverCPU, cpuCores: serverCPU.map { $0 / wall },
                peakResidentBytes: sampler.peak, lifetimePeakResidentBytes: stats.peakResidentBytes,
                residentBytesAtEnd: stats.residentBytes
            )
        }
        return report
    }

    /// What makes a run fail: any byte that did not arrive as sent, or a lossless viewer missing frames.
    private static func problems(_ report: BenchReport) -> [String] {
        var problems: [String] = []
        if let echo = report.echo, echo.mismatched > 0 { problems.append("\(echo.mismatched) echoed messages differed from what was sent") }
        for viewer in report.viewers {
            if viewer.corruptFrames > 0 { problems.append("viewer \(viewer.index) received \(viewer.corruptFrames) corrupt frames") }
            if viewer.policy == "all", viewer.slowRateMegabytesPerSecond == nil {
                if viewer.outOfOrder > 0 { problems.append("lossless viewer \(viewer.index) received \(viewer.outOfOrder) frames out of order") }
                if viewer.sawEnd, viewer.missed > 0 { problems.append("lossless viewer \(viewer.index) missed \(viewer.missed) frames") }
            }
        }
        return problems
    }

    private func parse(_ text: String) throws -> WebSocketURL {
        var parsed: WebSocketURL
        do {
            parsed = try WebSocketURL(text)
        } catch {
            throw ValidationError("\(error)")
        }
        if !echo, parsed.path.hasSuffix("/publish") {
            parsed.target = String(parsed.path.dropLast("/publish".count))
        }
        return parsed
    }
}

/// Samples the server's resident memory every 20 ms while a run is in progress.
final class RSSSampler: Sendable {
    let stats: ProcessStats?
    private let maximum = Mutex<Int?>(nil)

    init(stats: ProcessStats?) {
        self.stats = stats
    }

    var peak: Int? { maximum.withLock { $0 } }

    func sampling<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let stats else { return try await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if let rss = stats.residentBytes { self.maximum.withLock { $0 = max($0 ?? 0, rss) } }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            group.addTask { try await body() }
            var value: T?
            while let result = try await group.next() {
                if let result {
                    value = result
                    group.cancelAll()
                }
            }
            return value!
        }
    }
}

extension DeliveryPolicy: ExpressibleByArgument {}
