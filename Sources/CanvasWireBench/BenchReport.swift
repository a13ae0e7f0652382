import CanvasWireCore
import FoundationEssentials
import Histogram

/// What one bench run measured, as `canvaswire bench --json` prints it. Bytes are payload bytes (RGBA pixels, without
/// the 32-byte frame header) of whole frames, after any delta was applied, except under `wire`, which counts
/// messages as they arrived; MB is 10^6 bytes; latencies are milliseconds.
public struct BenchReport: Encodable, Sendable {
    /// `stream`, `echo` or `idle`.
    public var mode: String
    /// The stream or `/echo` URL measured.
    public var url: String
    /// Frame (or echo message) size: width.
    public var width: Int
    /// Frame (or echo message) size: height.
    public var height: Int
    /// The fast viewers' delivery policy (stream runs).
    public var policy: String?
    /// What the publisher sent: `generated`, `screen`, `video` or `noise` (stream runs).
    public var content: String?
    /// How the viewers asked for frames: `raw` or `delta` (stream runs).
    public var encoding: String?
    /// The publishing rate asked for; `nil` is unpaced.
    public var framesPerSecondTarget: Double?
    /// What the publisher handed over (stream runs).
    public var publisher: Throughput?
    /// Each viewer's figures (stream runs).
    public var viewers: [Viewer] = []
    /// All viewers together (stream runs).
    public var aggregate: Aggregate?
    /// Round-trip figures (echo runs).
    public var echo: Echo?
    /// Memory per idle connection (idle runs).
    public var idle: Idle?
    /// The server's CPU and memory, when it runs on this machine.
    public var server: ServerUsage?
    /// The bench's own CPU time, to show it is not the limit.
    public var loadGenerator: LoadGenerator

    /// Frames and payload bytes over a time span.
    public struct Throughput: Encodable, Sendable {
        /// Frames counted.
        public var frames: Int
        /// Payload bytes counted.
        public var bytes: Int
        /// The span they were counted over.
        public var seconds: Double
        /// ``frames`` over ``seconds``.
        public var framesPerSecond: Double
        /// ``bytes`` in 10^6 bytes over ``seconds``.
        public var megabytesPerSecond: Double

        init(frames: Int, bytes: Int, seconds: Double) {
            self.frames = frames
            self.bytes = bytes
            self.seconds = seconds
            framesPerSecond = seconds > 0 ? Double(frames) / seconds : 0
            megabytesPerSecond = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
        }
    }

    /// One viewer's figures.
    public struct Viewer: Encodable, Sendable {
        /// The viewer's number; slow viewers come after the fast ones.
        public var index: Int
        /// `latest` or `all`.
        public var policy: String
        /// Set for a viewer that reads at most this many MB/s.
        public var slowRateMegabytesPerSecond: Double?
        /// Everything received, until the last viewer's last frame.
        public var throughput: Throughput
        /// Payload bytes that matched the expected payload of their sequence number, byte for byte.
        public var verifiedBytes: Int
        /// Frames whose payload was not what its sequence number implies.
        public var corruptFrames: Int
        /// Frames the server reported skipping (`dropped`), and frames published but never received.
        public var dropped: UInt64
        /// Frames published but never received.
        public var missed: Int
        /// Frames that came after a later one (or, for `all`, not next in sequence).
        public var outOfOrder: Int
        /// Whether the stream's end message arrived.
        public var sawEnd: Bool
        /// What the frames cost on the wire.
        public var wire: Wire
        /// Capture-to-receipt latency.
        public var latency: Latency?
    }

    /// Bytes on the wire: the messages as they arrived, headers included, deltas before they were applied.
    public struct Wire: Encodable, Sendable {
        /// Bytes of every frame message received.
        public var bytes: Int
        /// Frames that arrived as deltas.
        public var deltaFrames: Int
        /// ``bytes`` per frame received.
        public var bytesPerFrame: Double
        /// ``bytes`` over what the same frames cost sent whole (32 + width*height*4 bytes each): 1 for
        /// `encoding=raw`, a few percent for a delta viewer of screen content.
        public var ratioToRaw: Double

        init(bytes: Int, frames: Int, deltaFrames: Int, rawFrameBytes: Int) {
            self.bytes = bytes
            self.deltaFrames = deltaFrames
            bytesPerFrame = frames > 0 ? Double(bytes) / Double(frames) : 0
            ratioToRaw = frames > 0 ? Double(bytes) / (Double(frames) * Double(rawFrameBytes)) : 0
        }
    }

    /// All viewers of a stream run together.
    public struct Aggregate: Encodable, Sendable {
        /// Everything received, until the last viewer's last frame.
        public var throughput: Throughput
        /// Payload bytes that matched, byte for byte.
        public var verifiedBytes: Int
        /// Frames whose payload was not what its sequence number implies.
        public var corruptFrames: Int
        /// The slowest viewer's frame rate.
        public var minimumViewerFramesPerSecond: Double
        /// What all viewers' frames cost on the wire.
        public var wire: Wire
        /// Capture-to-receipt latency.
        public var latency: Latency?
    }

    /// Round trips through `WS /echo`.
    public struct Echo: Encodable, Sendable {
        /// Round trips made.
        public var messages: Int
        /// Payload bytes counted.
        public var bytes: Int
        /// The span they were counted over.
        public var seconds: Double
        /// Bytes each way per second.
        public var megabytesPerSecond: Double
        /// Echoes that differed from what was sent.
        public var mismatched: Int
        /// Send-to-echo time.
        public var roundTrip: Latency?
    }

    /// What idle viewers cost the server.
    public struct Idle: Encodable, Sendable {
        /// Viewers opened.
        public var connections: Int
        /// Server RSS before they connected.
        public var residentBytesBefore: Int
        /// Server RSS with all of them connected.
        public var residentBytesAfter: Int
        /// The difference per viewer.
        public var bytesPerConnection: Double
    }

    /// The server's CPU and memory, read from `/proc/PID`.
    public struct ServerUsage: Encodable, Sendable {
        /// The server's process id.
        public var pid: Int32
        /// User plus system CPU seconds during the run.
        public var cpuSeconds: Double?
        /// Server CPU time over the run's wall time (1.0 = one core busy).
        public var cpuCores: Double?
        /// Largest resident set sampled every 20 ms during the run, and the process's lifetime peak.
        public var peakResidentBytes: Int?
        /// `VmHWM`: the process's peak since it started.
        public var lifetimePeakResidentBytes: Int?
        /// `VmRSS` when the run ended.
        public var residentBytesAtEnd: Int?
    }

    /// The bench process's own CPU time during the run.
    public struct LoadGenerator: Encodable, Sendable {
        /// User plus system CPU seconds.
        public var cpuSeconds: Double
        /// CPU seconds over wall seconds (1.0 = one core busy).
        public var cpuCores: Double
    }

    /// Percentiles of a latency histogram recorded in microseconds.
    public struct Latency: Encodable, Sendable {
        /// Values recorded.
        public var count: UInt64
        /// Median, in milliseconds.
        public var p50: Double
        /// 90th percentile, in milliseconds.
        public var p90: Double
        /// 99th percentile, in milliseconds.
        public var p99: Double
        /// The largest value, in milliseconds.
        public var max: Double

        init?(_ histogram: Histogram<UInt64>) {
            guard histogram.totalCount > 0 else { return nil }
            count = histogram.totalCount
            p50 = Double(histogram.valueAtPercentile(50)) / 1000
            p90 = Double(histogram.valueAtPercentile(90)) / 1000
            p99 = Double(histogram.valueAtPercentile(99)) / 1000
            // Percentiles are reported at their bucket's upper edge; max is the exact largest value.
            max = Swift.max(Double(histogram.max) / 1000, p99)
        }
    }
}

extension BenchReport {
    /// The report as a table for a terminal.
    public func table() -> String {
        var lines: [String] = []
        func mb(_ value: Double) -> String { rounded(value) }
        func percent(_ ratio: Double) -> String { "\(rounded(ratio * 100, decimals: ratio < 0.1 ? 2 : 1)) %" }
        func latency(_ l: Latency?) -> String {
            guard let l else { return "-" }
            return "\(rounded(l.p50, decimals: 2))/\(rounded(l.p90, decimals: 2))/\(rounded(l.p99, decimals: 2))/\(rounded(l.max, decimals: 2))"
        }
        lines.append("\(mode) \(url)  \(width)x\(height)\(policy.map { "  policy=\($0)" } ?? "")\(content.map { "  content=\($0)" } ?? "")\(encoding.map { "  encoding=\($0)" } ?? "")\(framesPerSecondTarget.map { "  paced \(rounded($0)) fps" } ?? "  unpaced")")
        if let echo {
            lines.append("echo: \(echo.messages) round trips, \(mb(echo.megabytesPerSecond)) MB/s each way, \(echo.mismatched) mismatched")
            lines.append("round trip ms p50/p90/p99/max: \(latency(echo.roundTrip))")
        }
        if let idle {
            lines.append("idle: \(idle.connections) viewers, server RSS \(rounded(Double(idle.residentBytesBefore) / 1e6)) -> \(rounded(Double(idle.residentBytesAfter) / 1e6)) MB, \(rounded(idle.bytesPerConnection / 1024)) KiB per connection")
        }
        if let publisher {
            lines.append("publisher: \(publisher.frames) frames in \(rounded(publisher.seconds, decimals: 2)) s, \(rounded(publisher.framesPerSecond)) fps, \(mb(publisher.megabytesPerSecond)) MB/s")
        }
        if !viewers.isEmpty {
            let header = ["viewer", "policy", "frames", "fps", "MB/s", "verified MB", "corrupt", "dropped", "missed", "wire B/frame", "of raw", "latency ms p50/p90/p99/max"]
            var rows = [header]
            for viewer in viewers {
                rows.append([
                    "\(viewer.index)\(viewer.slowRateMegabytesPerSecond.map { " (slow \(rounded($0)) MB/s)" } ?? "")",
                    viewer.policy, "\(viewer.throughput.frames)", rounded(viewer.throughput.framesPerSecond),
                    mb(viewer.throughput.megabytesPerSecond), rounded(Double(viewer.verifiedBytes) / 1e6),
                    "\(viewer.corruptFrames)", "\(viewer.dropped)", "\(viewer.missed)",
                    rounded(viewer.wire.bytesPerFrame, decimals: 0), percent(viewer.wire.ratioToRaw), latency(viewer.latency),
                ])
            }
            if let aggregate {
                rows.append([
                    "all", "", "\(aggregate.throughput.frames)", rounded(aggregate.throughput.framesPerSecond),
                    mb(aggregate.throughput.megabytesPerSecond), rounded(Double(aggregate.verifiedBytes) / 1e6),
                    "\(aggregate.corruptFrames)", "", "",
                    rounded(aggregate.wire.bytesPerFrame, decimals: 0), percent(aggregate.wire.ratioToRaw), latency(aggregate.latency),
                ])
            }
            let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                lines.append(row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell
                        : column <= 1 ? cell + String(repeating: " ", count: widths[column] - cell.count)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  "))
            }
        }
        if let server {
            var parts = ["server pid \(server.pid)"]
            if let cpu = server.cpuSeconds, let cores = server.cpuCores { parts.append("CPU \(rounded(cpu, decimals: 2)) s (\(rounded(cores * 100, decimals: 0))% of a core)") }
            if let peak = server.peakResidentBytes { parts.append("peak RSS \(rounded(Double(peak) / 1e6)) MB") }
            lines.append(parts.joined(separator: ", "))
        }
        lines.append("load generator: CPU \(rounded(loadGenerator.cpuSeconds, decimals: 2)) s (\(rounded(loadGenerator.cpuCores * 100, decimals: 0))% of a core)")
        return lines.joined(separator: "\n")
    }
}
