import CanvasWireCore
import CanvasWireServer
import FoundationEssentials
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
    /// The read end of the child's stdout, kept open so that a later line cannot fail with EPIPE.
    private let output: Int32?
    private let server: CanvasWireServer?

    private init(port: Int, pid: Int32?, output: Int32?, server: CanvasWireServer?) {
        self.port = port
        self.pid = pid
        self.output = output
        self.server = server
    }

    /// Starts `canvaswire serve --port 0` from this same executable and reads its port from stdout.
    ///
    /// Spawned with `posix_spawn` rather than Foundation's `Process`, so the executable links only
    /// FoundationEssentials: full Foundation and ICU added 5 MB to every server's resident memory.
    static func child(extraArguments: [String]) throws -> BenchServer {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else {
            throw CommandFailure(description: "bench: cannot create a pipe for the server: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        let arguments = ["canvaswire", "serve", "--port", "0", "--no-demo", "--log-level", "warning"] + extraArguments
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, environ)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw CommandFailure(description: "bench: cannot start the server: \(String(cString: strerror(spawned)))")
        }
        // "canvaswire serving http://127.0.0.1:PORT/"
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.last != UInt8(ascii: "\n"), read(pipe[0], &byte, 1) == 1 { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let address = text.split(separator: " ").last,
            let port = address.split(separator: ":").last.flatMap({ Int($0.filter(\.isNumber)) })
        else {
            kill(pid, SIGTERM)
            _ = waitpid(pid, nil, 0)
            close(pipe[0])
            throw CommandFailure(description: "bench: the server did not start: \(text)")
        }
        return BenchServer(port: port, pid: pid, output: pipe[0], server: nil)
    }

    static func inProcess() async throws -> BenchServer {
        var logger = Logger(label: "canvaswire.bench.server")
        logger.logLevel = .warning
        let server = CanvasWireServer(configuration: ServerConfiguration(port: 0, demoStream: nil), logger: logger)
        try await server.start()
        return BenchServer(port: server.port ?? 0, pid: nil, output: nil, server: server)
    }

    func stop() async {
        if let pid {
            kill(pid, SIGTERM)
            _ = waitpid(pid, nil, 0)
        }
        if let output { close(output) }
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

    /// Lets glibc keep freed memory instead of returning it to the kernel, so the load generator's
    /// many short-lived frame-sized buffers do not each cost fresh page faults: without it a fifth of
    /// the bench's CPU went to faulting, zeroing and unmapping pages (S2: 10 viewers, 640x360), time
    /// taken from the relay being measured on the same cores. Not applied to a server started as a
    /// child, whose memory is part of what the bench reports.
    static func keepFreedMemory() {
        // <malloc.h> is not part of Swift's Glibc module; mallopt and its parameter numbers come from it.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 1 << 30)
        _ = mallopt(topPad, 64 << 20)
    }

    /// Raises the open-file limit to its hard maximum, for benches with many connections.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
