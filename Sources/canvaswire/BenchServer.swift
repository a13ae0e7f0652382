import CanvasWireCore
import CanvasWireServer
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The relay a self-contained bench runs against: by default `canvaswire serve` as a child process,
/// so its CPU time and peak memory can be read from `/proc/PID` apart from the load generator's;
/// with `--in-process`, a ``CanvasWireServer`` inside the bench process (no separate figures).
final class BenchServer: @unchecked Sendable {
    let port: Int
    /// The child's process id; `nil` for an in-process server.
    let pid: Int32?
    private let process: Process?
    private let server: CanvasWireServer?

    private init(port: Int, process: Process?, server: CanvasWireServer?) {
        self.port = port
        self.pid = process?.processIdentifier
        self.process = process
        self.server = server
    }

    /// Starts `canvaswire serve --port 0` from this same executable and reads its port from stdout.
    static func child(extraArguments: [String]) throws -> BenchServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--port", "0", "--no-demo", "--log-level", "warning"] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        // "canvaswire serving http://127.0.0.1:PORT/"
        let text = String(decoding: line, as: UTF8.self)
        guard let address = text.split(separator: " ").last, let port = address.split(separator: ":").last
            .flatMap({ Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "/\n"))) })
        else {
            process.terminate()
            throw CommandFailure(description: "bench: the server did not start: \(text)")
        }
        return BenchServer(port: port, process: process, server: nil)
    }

    static func inProcess() async throws -> BenchServer {
        var logger = Logger(label: "canvaswire.bench.server")
        logger.logLevel = .warning
        let server = CanvasWireServer(configuration: ServerConfiguration(port: 0, demoStream: nil), logger: logger)
        try await server.start()
        return BenchServer(port: server.port ?? 0, process: nil, server: server)
    }

    func stop() async {
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        await server?.shutdown()
    }
}

/// CPU time and memory of a local process, read from `/proc/PID`.
struct ProcessStats: Sendable {
    let pid: Int32

    /// User plus system CPU seconds so far.
    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
    func statusBytes(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    var residentBytes: Int? { statusBytes("VmRSS") }
    var peakResidentBytes: Int? { statusBytes("VmHWM") }
}

/// This process's own CPU time: the load generator's cost, shown so that it is visibly not the limit.
enum SelfUsage {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Raises the open-file limit to its hard maximum, for benches with many connections.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
