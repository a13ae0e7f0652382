import CanvasWireCore
import CanvasWireServer
import Foundation
import Logging
import Testing

/// A fresh folder under the system's temporary folder, removed by the caller.
func makeTemporaryFolder() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cw-transfer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// An in-process relay on 127.0.0.1 with a kernel-chosen port (or `port`, to stand in for one that
/// went away), as a real deployment runs it.
func startServer(port: Int = 0) async throws -> (server: CanvasWireServer, port: Int) {
    let server = CanvasWireServer(
        configuration: ServerConfiguration(port: port, demoStream: nil), logger: Logger(label: "test"), threads: 1
    )
    try await server.start()
    return (server, try #require(server.port))
}

/// Polls `condition` every 10 ms until it holds, failing after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Raw RGBA pixels that differ from frame to frame, so a viewer can tell which frame it got.
func pixels(_ sequence: Int, size: FrameSize = FrameSize(width: 4, height: 3)) -> [UInt8] {
    (0..<size.rgbaByteCount).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ sequence &* 31) }
}
