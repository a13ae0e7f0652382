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
                throw BenchError.echoClosed(roundTrips: sequence)
            }
            let elapsed = sent.duration(to: .now)
            roundTrips.record(min(UInt64(elapsed / .seconds(1) * 1e6), BenchViewer.latencyCeiling))
            guard case .binary(let echoed) = reply, payload.verify(echoed, sequence: sequence),
                echoed.readableBytes == messageBytes
            else {
                mismatched += 1
                sequence += 1
                continue
            }
            sequence += 1
        }
        let elapsed = start.duration(to: .now) / .seconds(1)
        await connection.close(code: 1000, reason: "bench done")
        let bytes = Int(sequence) * messageBytes
        return BenchReport.Echo(
            messages: Int(sequence), bytes: bytes, seconds: elapsed,
            megabytesPerSecond: elapsed > 0 ? Double(bytes) / elapsed / 1e6 : 0,
            mismatched: mismatched, roundTrip: .init(roundTrips)
        )
    }
}
