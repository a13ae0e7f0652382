import CanvasWireClient
import CanvasWireCore

/// Measures a relay's throughput, latency and cost with verified payloads: the library behind
/// `canvaswire bench`.
///
/// Every frame is derived from its sequence number (``BenchPayload`` or ``SyntheticContent``) and
/// checked byte for byte by each viewer, after any delta was applied; ``check(_:)`` turns a corrupt,
/// out-of-order or missing frame into an error.
public struct Bench: Sendable {
    /// What to measure.
    public let configuration: BenchConfiguration

    /// Prepares a bench; nothing runs until ``run()``.
    public init(configuration: BenchConfiguration) {
        self.configuration = configuration
    }

    /// Starts the local server if there is no URL, measures each size in turn, and stops the server.
    public func run() async throws -> [BenchReport] {
        SelfUsage.raiseFileLimit()
        SelfUsage.keepFreedMemory()
        var server: BenchServer?
        let base: WebSocketURL
        if let url = configuration.url {
            base = url
        } else {
            switch configuration.localServer {
            case .childProcess(let executable): server = try BenchServer.child(executable: executable)
            case .inProcess: server = try await BenchServer.inProcess()
            }
            let path = if case .echo = configuration.mode { "/echo" } else { "/streams/bench" }
            base = try WebSocketURL("ws://127.0.0.1:\(server!.port)\(path)")
        }
        let stats = (configuration.serverPID ?? server?.pid).map { ProcessStats(pid: $0) }
        var reports: [BenchReport] = []
        do {
            for frameSize in configuration.sizes {
                reports.append(try await measure(frameSize, at: base, stats: stats))
            }
        } catch {
            await server?.stop()
            throw error
        }
        await server?.stop()
        return reports
    }

    /// Fails when any byte did not arrive as sent, or a lossless viewer missed or reordered frames.
    public static func check(_ reports: [BenchReport]) throws(BenchError) {
        let problems = reports.flatMap(problems)
        guard problems.isEmpty else { throw .verificationFailed(problems) }
    }

    private func measure(_ frameSize: FrameSize, at base: WebSocketURL, stats: ProcessStats?) async throws -> BenchReport {
        let configuration = self.configuration
        let runDuration = configuration.duration ?? (configuration.frames == nil ? .seconds(5) : nil)
        let payload = BenchPayload()
        let modeName: String
        switch configuration.mode {
        case .stream: modeName = "stream"
        case .echo: modeName = "echo"
        case .idle: modeName = "idle"
        }
        let isStream = modeName == "stream"
        var report = BenchReport(
            mode: modeName, url: base.description, width: frameSize.width, height: frameSize.height,
            policy: isStream ? configuration.policy.rawValue : nil,
            content: isStream ? configuration.content.rawValue : nil,
            encoding: isStream ? configuration.encoding.rawValue : nil,
            framesPerSecondTarget: modeName == "echo" ? nil : configuration.framesPerSecond,
            loadGenerator: .init(cpuSeconds: 0, cpuCores: 0)
        )
        let sampler = RSSSampler(stats: stats)
        let cpuBefore = (server: stats?.cpuSeconds(), bench: SelfUsage.cpuSeconds())
        let start = ContinuousClock.now
        switch configuration.mode {
        case .echo:
            let run = BenchEchoRun(
                url: base, messageBytes: frameSize.rgbaByteCount, messages: configuration.frames, duration: runDuration,
                client: configuration.client, payload: payload
            )
            report.echo = try await sampler.sampling { try await run.run() }
        case .idle(let viewers):
            guard let stats else { throw BenchError.idleNeedsLocalServer }
            let run = BenchIdleRun(viewerURL: base, connections: viewers, client: configuration.client, server: stats)
            report.idle = try await sampler.sampling { try await run.run() }
        case .stream:
            var publishURL = base
            publishURL.target = base.path + "/publish"
            let run = BenchStreamRun(
                options: .init(
                    publishURL: configuration.publishURL ?? publishURL,
                    viewerURLs: configuration.viewerURLs.isEmpty ? [base] : configuration.viewerURLs,
                    size: frameSize, viewers: configuration.viewers,
                    policy: configuration.policy, encoding: configuration.encoding, slowViewers: configuration.slowViewers,
                    slowPolicy: configuration.slowPolicy, slowRate: configuration.slowRate, frames: configuration.frames,
                    duration: runDuration, framesPerSecond: configuration.framesPerSecond,
                    threshold: configuration.threshold, client: configuration.client,
                    drainTimeout: configuration.drainTimeout
                ),
                frames: configuration.content.frames(size: frameSize)
            )
            let (publisher, viewerReports, aggregate) = try await sampler.sampling { try await run.run() }
            report.publisher = publisher
            report.viewers = viewerReports
            report.aggregate = aggregate
        }
        let wall = start.duration(to: .now) / .seconds(1)
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
}
