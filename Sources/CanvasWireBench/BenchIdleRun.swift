import CanvasWireClient
import CanvasWireCore

/// Many viewers that connect and then do nothing: what one open connection costs the server.
struct BenchIdleRun {
    var viewerURL: WebSocketURL
    var connections: Int
    var client: WebSocketClientConfiguration
    var server: ProcessStats

    func run() async throws -> BenchReport.Idle {
        try await Task.sleep(for: .milliseconds(300))
        let before = server.residentBytes ?? 0
        var viewers: [StreamSubscriber] = []
        // Connected in batches, so the server's accept backlog is never the question.
        let batch = 64
        for first in stride(from: 0, to: connections, by: batch) {
            let connected = try await withThrowingTaskGroup(of: StreamSubscriber.self) { group in
                for _ in first..<min(connections, first + batch) {
                    group.addTask { try await StreamSubscriber.connect(to: viewerURL, policy: .latest, configuration: client) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            viewers += connected
        }
        try await Task.sleep(for: .milliseconds(500))
        let after = server.residentBytes ?? 0
        await withTaskGroup(of: Void.self) { group in
            for viewer in viewers { group.addTask { await viewer.connection.close(code: 1000, reason: "bench done") } }
        }
        return BenchReport.Idle(
            connections: connections, residentBytesBefore: before, residentBytesAfter: after,
            bytesPerConnection: Double(after - before) / Double(max(1, connections))
        )
    }
}
