// NATS publish throughput through a running nats-server: one connection publishes, a subscriber on
// a second connection receives and checks every byte.
//
//   canvaswire-nats-bench nats://127.0.0.1:4222 [--size BYTES] [--messages N] [--runs N] [--window BYTES]
//
// The publisher paces itself on the connection's pending outbound bytes (at most --window, 8 MiB by
// default), as the relay does, so what is measured is what the socket, the server and the
// subscriber sustain, not how fast memory fills. Each run times from the first publish to the last
// message received. Prints one tab-separated line per run and a summary:
//   run  messages  seconds  MB/s (10^6 bytes of payload)  messages/s
import CanvasWireNATS
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    let line = "canvaswire-nats-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name) else { return value }
    guard index + 1 < arguments.count, let parsed = Int(arguments[index + 1]) else { fail("\(name) needs a number") }
    return parsed
}

/// Counts what the subscriber receives and wakes the run once all of it has arrived.
final class Receipt: Sendable {
    private struct State {
        var received = 0
        var corrupt = 0
        var expected = 0
        var done: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let payload: ByteBuffer

    init(payload: ByteBuffer) { self.payload = payload }

    /// Starts a run of `count` messages; call before the first is published.
    func start(expecting count: Int) {
        state.withLock { state in
            state.received = 0
            state.expected = count
        }
    }

    func waitUntilComplete() async {
        await withCheckedContinuation { continuation in
            let complete = state.withLock { state in
                guard state.received < state.expected else { return true }
                state.done = continuation
                return false
            }
            if complete { continuation.resume() }
        }
    }

    func receive(_ message: NATSMessage) {
        let intact = message.payload == payload
        let done = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.received += 1
            if !intact { state.corrupt += 1 }
            guard state.received == state.expected else { return nil }
            defer { state.done = nil }
            return state.done
        }
        done?.resume()
    }

    var corrupt: Int { state.withLock { $0.corrupt } }
}

guard CommandLine.arguments.count > 1, CommandLine.arguments[1].hasPrefix("nats://") else {
    fail("usage: canvaswire-nats-bench nats://HOST:PORT [--size BYTES] [--messages N] [--runs N] [--window BYTES]")
}
let url = CommandLine.arguments[1]
let size = option("--size", default: 1 << 20)
let messages = option("--messages", default: 2000)
let runs = option("--runs", default: 5)
let window = option("--window", default: 8 << 20)

var logger = Logger(label: "canvaswire-nats-bench")
logger.logLevel = .warning
do {
    let subscriber = try await NATSConnection.connect(to: [url], logger: logger)
    let publisher = try await NATSConnection.connect(to: [url], logger: logger)
    guard size <= publisher.serverInfo.maxPayload else {
        fail("--size \(size) exceeds the server's max_payload \(publisher.serverInfo.maxPayload)")
    }
    let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) })
    let receipt = Receipt(payload: payload)
    _ = try subscriber.subscribe(to: "bench.frames") { receipt.receive($0) }
    try await subscriber.flush()

    var rates: [Double] = []
    print("run\tmessages\tseconds\tMB/s\tmessages/s")
    for run in 0...runs {  // run 0 warms up
        let clock = ContinuousClock()
        let start = clock.now
        receipt.start(expecting: messages)
        for _ in 0..<messages {
            if publisher.pendingOutboundBytes > window { await publisher.waitForPendingOutboundBytes(atMost: window) }
            try publisher.publish(payload, to: "bench.frames")
        }
        await receipt.waitUntilComplete()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let megabytes = Double(messages * size) / 1e6
        guard run > 0 else { continue }
        rates.append(megabytes / seconds)
        print("\(run)\t\(messages)\t\(String(format: seconds))\t\(String(format: megabytes / seconds))\t\(String(format: Double(messages) / seconds))")
    }
    guard receipt.corrupt == 0 else { fail("\(receipt.corrupt) messages arrived corrupted") }
    let sorted = rates.sorted()
    let median = sorted[sorted.count / 2]
    print("median \(String(format: median)) MB/s (\(String(format: median * 1e6 / Double(size))) messages/s), "
        + "min \(String(format: sorted.first!)), max \(String(format: sorted.last!)); \(size)-byte messages, every byte checked")
    await publisher.close()
    await subscriber.close()
    // Both connections' CPU, warm-up included, to set against nats-server's (tools/bench/nats prints it).
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    let cpu = { (time: timeval) in String(format: Double(time.tv_sec) + Double(time.tv_usec) / 1e6) }
    print("client CPU (both connections, \(runs + 1) runs): user \(cpu(usage.ru_utime)) s, system \(cpu(usage.ru_stime)) s")
} catch {
    fail("\(error)")
}

extension String {
    /// Two decimals, without Foundation.
    init(format value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
