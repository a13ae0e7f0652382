import CanvasWireCore
import CanvasWireServer
import FoundationEssentials
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The relay a self-contained bench runs against: `canvaswire serve` as a child process, so its CPU
/// time and peak memory can be read from `/proc/PID` apart from the load generator's, or a
/// ``CanvasWireServer`` inside the bench process (no separate figures).
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

    /// Starts `EXECUTABLE serve --port 0` and reads its port from stdout.
    ///
    /// - Parameter executable: A `canvaswire` binary; `canvaswire bench` passes `/proc/self/exe`, itself.
    ///
    /// Spawned with `posix_spawn` rather than Foundation's `Process`, so the executable links only
    /// FoundationEssentials: full Foundation and ICU added 5 MB to every server's resident memory.
    static func child(executable: String) throws(BenchError) -> BenchServer {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else {
            throw .serverNotStarted("cannot create a pipe for the server: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        let arguments = ["canvaswire", "serve", "--port", "0", "--no-demo", "--log-level", "warning"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw .serverNotStarted("cannot start the server \(executable): \(String(cString: strerror(spawned)))")
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
            throw .serverNotStarted("the server did not start: \(text)")
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
