import Foundation
import Testing

/// A real `nats-server` on 127.0.0.1 with JetStream, for one test.
///
/// The port is the kernel's choice (`-p -1`), read from the file the server writes into
/// `--ports_file_dir` once it listens, so two servers can never be handed the same port. Only a
/// restart reuses a port, the one it just had: another process would have to take it in between.
final class NATSServerProcess: @unchecked Sendable {
    let port: Int
    let storeDirectory: URL
    let extraArguments: [String]
    private var process: Process
    private let logFile: URL

    var url: String { "nats://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, storeDirectory: URL, logFile: URL, extraArguments: [String]) {
        self.process = process
        self.port = port
        self.storeDirectory = storeDirectory
        self.logFile = logFile
        self.extraArguments = extraArguments
    }

    /// Starts a server; `extraArguments` are appended (for example `["--auth", "secret"]`).
    static func start(extraArguments: [String] = []) async throws -> NATSServerProcess {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("cw-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        let logFile = store.appendingPathComponent("server.log")
        let (process, port) = try await launch(port: -1, store: store, logFile: logFile, extraArguments: extraArguments)
        return NATSServerProcess(process: process, port: port, storeDirectory: store, logFile: logFile, extraArguments: extraArguments)
    }

    /// Runs `body` with a fresh server and stops it afterwards, also when `body` throws.
    static func with<T>(extraArguments: [String] = [], _ body: (NATSServerProcess) async throws -> T) async throws -> T {
        let server = try await start(extraArguments: extraArguments)
        defer { try? FileManager.default.removeItem(at: server.storeDirectory) }
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The URL of a server that has just stopped: a port that refuses connections (until another
    /// process happens to take it).
    static func deadURL() async throws -> String {
        try await with { server in
            await server.stop()
            return server.url
        }
    }

    private static func launch(
        port: Int, store: URL, logFile: URL, extraArguments: [String]
    ) async throws -> (Process, Int) {
        let portsDirectory = store.appendingPathComponent("ports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: portsDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "nats-server", "-js", "-a", "127.0.0.1", "-p", "\(port)",
            "--ports_file_dir", portsDirectory.path, "-sd", store.path,
        ] + extraArguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // The file is looked for once more after the deadline: under ThreadSanitizer, CPU-bound suites
        // running alongside can hold this task past the deadline in one sleep, with the file long written.
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if !process.isRunning {
                throw ServerError("nats-server exited at start: \(String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self).suffix(2000))")
            }
            if let file = try? FileManager.default.contentsOfDirectory(atPath: portsDirectory.path).first(where: { $0.hasSuffix(".ports") }),
               let data = try? Data(contentsOf: portsDirectory.appendingPathComponent(file)),
               let ports = try? JSONDecoder().decode([String: [String]].self, from: data),
               let url = ports["nats"]?.first, let port = url.split(separator: ":").last.flatMap({ Int($0) }) {
                return (process, port)
            }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.terminate()
        throw ServerError("nats-server did not write its ports file within 20 s")
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    func kill() async {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        await waitForExit()
    }

    /// Stops the server (SIGTERM; SIGKILL if it is still running 10 s later) and waits for it to exit.
    func stop() async {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        await kill()
    }

    /// Starts the server again on the same port and store, after ``kill()`` or ``stop()``.
    func restart() async throws {
        (process, _) = try await Self.launch(port: port, store: storeDirectory, logFile: logFile, extraArguments: extraArguments)
    }

    private func waitForExit() async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
