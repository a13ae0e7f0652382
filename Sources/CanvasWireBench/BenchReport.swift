import FoundationEssentials
import Histogram

/// What one bench run measured, as `canvaswire bench --json` prints it. Bytes are payload bytes (RGBA pixels, without
/// the 32-byte frame header); MB is 10^6 bytes; latencies are milliseconds.
public struct BenchReport: Encodable, Sendable {
    public var mode: String
    public var url: String
    public var width: Int
    public var height: Int
    public var policy: String?
    public var framesPerSecondTarget: Double?
    public var publisher: Throughput?
    public var viewers: [Viewer] = []
    public var aggregate: Aggregate?
    public var echo: Echo?
    public var idle: Idle?
    public var server: ServerUsage?
    public var loadGenerator: LoadGenerator

    public struct Throughput: Encodable, Sendable {
        public var frames: Int
        public var bytes: Int
        public var seconds: Double
        public var framesPerSecond: Double
        public var megabytesPerSecond: Double

        init(frames: Int, bytes: Int, seconds: Double) {
            self.frames = frames
            self.bytes = bytes
            self.seconds = seconds
            framesPerSecond = seconds > 0 ? Double(frames) / seconds : 0
            megabytesPerSecond = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
        }
    }

    public struct Viewer: Encodable, Sendable {
        public var index: Int
        public var policy: String
        /// Set for a viewer that reads at most this many MB/s.
        public var slowRateMegabytesPerSecond: Double?
        public var throughput: Throughput
        /// Payload bytes that matched the expected payload of their sequence number, byte for byte.
        public var verifiedBytes: Int
        public var corruptFrames: Int
        /// Frames the server reported skipping (`dropped`), and frames published but never received.
        public var dropped: UInt64
        public var missed: Int
        public var outOfOrder: Int
        public var sawEnd: Bool
        public var latency: Latency?
    }

    public struct Aggregate: Encodable, Sendable {
        public var throughput: Throughput
        public var verifiedBytes: Int
        public var corruptFrames: Int
        public var minimumViewerFramesPerSecond: Double
        public var latency: Latency?
    }

    public struct Echo: Encodable, Sendable {
        public var messages: Int
        public var bytes: Int
        public var seconds: Double
        /// Bytes each way per second.
        public var megabytesPerSecond: Double
        public var mismatched: Int
        public var roundTrip: Latency?
    }

    public struct Idle: Encodable, Sendable {
        public var connections: Int
        public var residentBytesBefore: Int
        public var residentBytesAfter: Int
        public var bytesPerConnection: Double
    }

    public struct ServerUsage: Encodable, Sendable {
        public var pid: Int32
        public var cpuSeconds: Double?
        /// Server CPU time over the run's wall time (1.0 = one core busy).
        public var cpuCores: Double?
        /// Largest resident set sampled every 20 ms during the run, and the process's lifetime peak.
        public var peakResidentBytes: Int?
        public var lifetimePeakResidentBytes: Int?
        public var residentBytesAtEnd: Int?
    }

    public struct LoadGenerator: Encodable, Sendable {
        public var cpuSeconds: Double
        public var cpuCores: Double
    }

    /// Percentiles of a latency histogram recorded in microseconds.
    public struct Latency: Encodable, Sendable {
        public var count: UInt64
        public var p50: Double
        public var p90: Double
        public var p99: Double
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
        func latency(_ l: Latency?) -> String {
            guard let l else { return "-" }
            return "\(rounded(l.p50, decimals: 2))/\(rounded(l.p90, decimals: 2))/\(rounded(l.p99, decimals: 2))/\(rounded(l.max, decimals: 2))"
        }
        lines.append("\(mode) \(url)  \(width)x\(height)\(policy.map { "  policy=\($0)" } ?? "")\(framesPerSecondTarget.map { "  paced \(rounded($0)) fps" } ?? "  unpaced")")
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
            let header = ["viewer", "policy", "frames", "fps", "MB/s", "verified MB", "corrupt", "dropped", "missed", "latency ms p50/p90/p99/max"]
            var rows = [header]
            for viewer in viewers {
                rows.append([
                    "\(viewer.index)\(viewer.slowRateMegabytesPerSecond.map { " (slow \(rounded($0)) MB/s)" } ?? "")",
                    viewer.policy, "\(viewer.throughput.frames)", rounded(viewer.throughput.framesPerSecond),
                    mb(viewer.throughput.megabytesPerSecond), rounded(Double(viewer.verifiedBytes) / 1e6),
                    "\(viewer.corruptFrames)", "\(viewer.dropped)", "\(viewer.missed)", latency(viewer.latency),
                ])
            }
            if let aggregate {
                rows.append([
                    "all", "", "\(aggregate.throughput.frames)", rounded(aggregate.throughput.framesPerSecond),
                    mb(aggregate.throughput.megabytesPerSecond), rounded(Double(aggregate.verifiedBytes) / 1e6),
                    "\(aggregate.corruptFrames)", "", "", latency(aggregate.latency),
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
