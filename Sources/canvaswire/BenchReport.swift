import FoundationEssentials
import Histogram

/// What one bench run measured, as `--json` prints it. Bytes are payload bytes (RGBA pixels, without
/// the 32-byte frame header); MB is 10^6 bytes; latencies are milliseconds.
struct BenchReport: Encodable {
    var mode: String
    var url: String
    var width: Int
    var height: Int
    var policy: String?
    var framesPerSecondTarget: Double?
    var publisher: Throughput?
    var viewers: [Viewer] = []
    var aggregate: Aggregate?
    var echo: Echo?
    var idle: Idle?
    var server: ServerUsage?
    var loadGenerator: LoadGenerator

    struct Throughput: Encodable {
        var frames: Int
        var bytes: Int
        var seconds: Double
        var framesPerSecond: Double
        var megabytesPerSecond: Double

        init(frames: Int, bytes: Int, seconds: Double) {
            self.frames = frames
            self.bytes = bytes
            self.seconds = seconds
            framesPerSecond = seconds > 0 ? Double(frames) / seconds : 0
            megabytesPerSecond = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
        }
    }

    struct Viewer: Encodable {
        var index: Int
        var policy: String
        /// Set for a viewer that reads at most this many MB/s.
        var slowRateMegabytesPerSecond: Double?
        var throughput: Throughput
        /// Payload bytes that matched the expected payload of their sequence number, byte for byte.
        var verifiedBytes: Int
        var corruptFrames: Int
        /// Frames the server reported skipping (`dropped`), and frames published but never received.
        var dropped: UInt64
        var missed: Int
        var outOfOrder: Int
        var sawEnd: Bool
        var latency: Latency?
    }

    struct Aggregate: Encodable {
        var throughput: Throughput
        var verifiedBytes: Int
        var corruptFrames: Int
        var minimumViewerFramesPerSecond: Double
        var latency: Latency?
    }

    struct Echo: Encodable {
        var messages: Int
        var bytes: Int
        var seconds: Double
        /// Bytes each way per second.
        var megabytesPerSecond: Double
        var mismatched: Int
        var roundTrip: Latency?
    }

    struct Idle: Encodable {
        var connections: Int
        var residentBytesBefore: Int
        var residentBytesAfter: Int
        var bytesPerConnection: Double
    }

    struct ServerUsage: Encodable {
        var pid: Int32
        var cpuSeconds: Double?
        /// Server CPU time over the run's wall time (1.0 = one core busy).
        var cpuCores: Double?
        /// Largest resident set sampled every 20 ms during the run, and the process's lifetime peak.
        var peakResidentBytes: Int?
        var lifetimePeakResidentBytes: Int?
        var residentBytesAtEnd: Int?
    }

    struct LoadGenerator: Encodable {
        var cpuSeconds: Double
        var cpuCores: Double
    }

    /// Percentiles of a latency histogram recorded in microseconds.
    struct Latency: Encodable {
        var count: UInt64
        var p50: Double
        var p90: Double
        var p99: Double
        var max: Double

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
    func table() -> String {
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
