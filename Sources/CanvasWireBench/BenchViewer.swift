import CanvasWireClient
import CanvasWireCore
import Histogram
import NIOCore
import Synchronization

/// One viewer of a bench: reads, verifies and times every frame, optionally at a limited rate.
final class BenchViewer: Sendable {
    /// Latencies above a minute are recorded as a minute.
    static let latencyCeiling: UInt64 = 60_000_000

    struct Result: Sendable {
        var index: Int
        var policy: DeliveryPolicy
        var slowRate: Double?
        var frames = 0
        var bytes = 0
        /// Bytes of the messages as they arrived: deltas, not the frames rebuilt from them.
        var wireBytes = 0
        var deltaFrames = 0
        var verifiedBytes = 0
        var corruptFrames = 0
        var dropped: UInt64 = 0
        var outOfOrder = 0
        var sawEnd = false
        var lastFrameAt: ContinuousClock.Instant
        var latency = Histogram<UInt64>(highestTrackableValue: BenchViewer.latencyCeiling, numberOfSignificantValueDigits: .three)
    }

    let index: Int
    let policy: DeliveryPolicy
    let slowRate: Double?
    let subscriber: StreamSubscriber
    private let stopped = Atomic<Bool>(false)

    init(index: Int, policy: DeliveryPolicy, slowRate: Double?, subscriber: StreamSubscriber) {
        self.index = index
        self.policy = policy
        self.slowRate = slowRate
        self.subscriber = subscriber
    }

    /// Ends the viewer: it stops reading and its connection closes.
    func stop() async {
        stopped.store(true, ordering: .relaxed)
        await subscriber.connection.close(code: 1000, reason: "bench done")
    }

    /// Reads until the stream's `end`. Frames captured before `startMicros` are a previous run's latest
    /// frame, which the server hands to every viewer that joins; they are not counted.
    func consume(start: ContinuousClock.Instant, startMicros: UInt64, frames: BenchFrames) async -> Result {
        var result = Result(index: index, policy: policy, slowRate: slowRate, lastFrameAt: start)
        var nextSequence: UInt64 = 0
        do {
            for try await event in subscriber.events {
                if stopped.load(ordering: .relaxed) { break }
                switch event {
                case .frame(let frame):
                    guard frame.header.captureTimeMicros >= startMicros else { continue }
                    let received = frame.receivedAtMicros
                    result.lastFrameAt = .now
                    let latency = received > frame.header.captureTimeMicros ? received - frame.header.captureTimeMicros : 0
                    result.latency.record(min(latency, Self.latencyCeiling))
                    result.frames += 1
                    result.bytes += frame.payload.readableBytes
                    result.wireBytes += frame.wireBytes
                    if frame.wireFormat == .rgba8Delta { result.deltaFrames += 1 }
                    if frames.verify(frame.payload, sequence: frame.header.sequence) {
                        result.verifiedBytes += frame.payload.readableBytes
                    } else {
                        result.corruptFrames += 1
                    }
                    if frame.header.sequence < nextSequence || (policy == .all && frame.header.sequence != nextSequence) {
                        result.outOfOrder += 1
                    }
                    nextSequence = frame.header.sequence + 1
                    // A slow viewer's rate limits what crosses its wire, deltas included.
                    if let slowRate { await throttle(bytes: result.wireBytes, rate: slowRate, start: start) }
                case .dropped(let dropped):
                    result.dropped = dropped.total
                case .end:
                    result.sawEnd = true
                    await subscriber.connection.close(code: 1000, reason: "bench done")
                    return result
                case .publisher:
                    break
                }
            }
        } catch {
            // A viewer closed by the bench, or by the server, reports what it had received.
        }
        if subscriber.connection.readyState != .closed { await subscriber.connection.close(code: 1000, reason: "bench done") }
        return result
    }

    /// Holds the reader back until `bytes` fit under `rate` since `start`. While it waits, the client
    /// stops reading its socket, so TCP slows the server's sending to this viewer.
    private func throttle(bytes: Int, rate: Double, start: ContinuousClock.Instant) async {
        let due = start + .nanoseconds(Int64(Double(bytes) / rate * 1e9))
        while ContinuousClock.now < due, !stopped.load(ordering: .relaxed) {
            try? await Task.sleep(until: min(due, .now + .milliseconds(50)), clock: .continuous)
        }
    }
}

