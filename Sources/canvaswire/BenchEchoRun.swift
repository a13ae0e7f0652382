import CanvasWireClient
import CanvasWireCore
import Histogram
import NIOCore

/// Round trips through `WS /echo`: one binary message in flight at a time, each one checked byte for
/// byte when it comes back.
struct BenchEchoRun {
    var url: WebSocketURL
    var messageBytes: Int
    var messages: Int?
    var duration: Duration?
    var client: WebSocketClientConfiguration
    let payload: BenchPayload

    func run() async throws -> BenchReport.Echo {
        let connection = try await WebSocketConnection.connect(to: url, configuration: client)
        var iterator = connection.messages.makeAsyncIterator()
        var roundTrips = Histogram<UInt64>(highestTrackableValue: BenchViewer.latencyCeiling, numberOfSignificantValueDigits: .three)
        let allocator = ByteBufferAllocator()
        let start = ContinuousClock.now
        let deadline = duration.map { start + $0 }
        var sequence: UInt64 = 0
        var mismatched = 0
        while messages.map({ sequence < $0 }) ?? true, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            var message = allocator.buffer(capacity: messageBytes)
            payload.write(sequence: sequence, count: messageBytes, into: &message)
            let sent = ContinuousClock.now
            try await connection.send(message)
            guard let reply = try await iterator.next() else {
                throw CommandFailure(description: "bench: the echo connection closed after \(sequence) round trips")
            }
            let elapsed = sent.duration(to: .now)
            roundTrips.record(min(UInt64(inSeconds(elapsed) * 1e6), BenchViewer.latencyCeiling))
            guard case .binary(let echoed) = reply, payload.verify(echoed, sequence: sequence),
                echoed.readableBytes == messageBytes
            else {
                mismatched += 1
                sequence += 1
                continue
            }
            sequence += 1
        }
        let elapsed = inSeconds(start.duration(to: .now))
        await connection.close(code: 1000, reason: "bench done")
        let bytes = Int(sequence) * messageBytes
        return BenchReport.Echo(
            messages: Int(sequence), bytes: bytes, seconds: elapsed,
            megabytesPerSecond: elapsed > 0 ? Double(bytes) / elapsed / 1e6 : 0,
            mismatched: mismatched, roundTrip: .init(roundTrips)
        )
    }
}

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
