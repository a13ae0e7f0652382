import CanvasWireClient
import CanvasWireCore
import Histogram
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One publisher and its viewers on one stream, measured: the bench's main mode.
///
/// Viewers connect first, so none misses a frame; then the publisher sends frames (see
/// ``BenchFrames``) unpaced (as fast as its `bufferedAmount` allows) or at a fixed rate, ends the
/// stream, and every viewer reads until the stream's `end`. Slow viewers are closed when the publisher
/// finishes, since they are not expected to catch up; the others get `drainTimeout` to do so.
struct BenchStreamRun {
    struct Options {
        var publishURL: WebSocketURL
        /// Viewer *i* connects to the URL at *i* modulo their number.
        var viewerURLs: [WebSocketURL]
        var size: FrameSize
        var viewers: Int
        var policy: DeliveryPolicy
        var encoding: ViewerEncoding
        var slowViewers: Int
        var slowPolicy: DeliveryPolicy
        /// Bytes per second a slow viewer reads at most.
        var slowRate: Double
        var frames: Int?
        var duration: Duration?
        var framesPerSecond: Double?
        var threshold: Int
        var client: WebSocketClientConfiguration
        var drainTimeout: Duration = .seconds(30)
    }

    let options: Options
    let frames: BenchFrames

    func run() async throws -> (publisher: BenchReport.Throughput, viewers: [BenchReport.Viewer], aggregate: BenchReport.Aggregate?) {
        var connected: [BenchViewer] = []
        for index in 0..<(options.viewers + options.slowViewers) {
            let slow = index >= options.viewers
            let policy = slow ? options.slowPolicy : options.policy
            let url = options.viewerURLs[index % options.viewerURLs.count]
            let subscriber = try await StreamSubscriber.connect(
                to: url, policy: policy, encoding: options.encoding, configuration: options.client
            )
            connected.append(BenchViewer(index: index, policy: policy, slowRate: slow ? options.slowRate : nil, subscriber: subscriber))
        }
        let viewers = connected
        let publisher = try await StreamPublisher.connect(to: options.publishURL, configuration: options.client)
        let start = ContinuousClock.now
        let startMicros = WallClock.microsecondsNow()

        enum Outcome {
            case published(BenchReport.Throughput)
            case viewer(BenchViewer.Result)
            case other
        }
        let (published, results) = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for viewer in viewers {
                group.addTask { [frames] in .viewer(await viewer.consume(start: start, startMicros: startMicros, frames: frames)) }
            }
            group.addTask { .published(try await publish(on: publisher, start: start)) }
            var published: BenchReport.Throughput?
            var results: [BenchViewer.Result] = []
            while let outcome = try await group.next() {
                switch outcome {
                case .published(let throughput):
                    published = throughput
                    if results.count == viewers.count {
                        group.cancelAll()
                        continue
                    }
                    for viewer in viewers where viewer.slowRate != nil {
                        group.addTask { await viewer.stop(); return .other }
                    }
                    let timeout = options.drainTimeout
                    group.addTask {
                        do { try await Task.sleep(for: timeout) } catch { return .other }
                        for viewer in viewers { await viewer.stop() }
                        return .other
                    }
                case .viewer(let result):
                    results.append(result)
                    if results.count == viewers.count, published != nil { group.cancelAll() }
                case .other:
                    break
                }
            }
            return (published!, results.sorted { $0.index < $1.index })
        }

        let rawFrameBytes = FrameHeader.v1Length + options.size.rgbaByteCount
        var reports: [BenchReport.Viewer] = []
        var combined = Histogram<UInt64>(highestTrackableValue: BenchViewer.latencyCeiling, numberOfSignificantValueDigits: .three)
        var lastFrame = start
        for result in results {
            combined.add(result.latency)
            lastFrame = max(lastFrame, result.lastFrameAt)
            reports.append(BenchReport.Viewer(
                index: result.index,
                policy: result.policy.rawValue,
                slowRateMegabytesPerSecond: result.slowRate.map { $0 / 1e6 },
                throughput: .init(frames: result.frames, bytes: result.bytes, seconds: start.duration(to: result.lastFrameAt) / .seconds(1)),
                verifiedBytes: result.verifiedBytes,
                corruptFrames: result.corruptFrames,
                dropped: result.dropped,
                missed: max(0, published.frames - result.frames),
                outOfOrder: result.outOfOrder,
                sawEnd: result.sawEnd,
                wire: .init(bytes: result.wireBytes, frames: result.frames, deltaFrames: result.deltaFrames, rawFrameBytes: rawFrameBytes),
                latency: .init(result.latency)
            ))
        }
        let aggregate = reports.isEmpty ? nil : BenchReport.Aggregate(
            throughput: .init(
                frames: reports.reduce(0) { $0 + $1.throughput.frames },
                bytes: reports.reduce(0) { $0 + $1.throughput.bytes },
                seconds: start.duration(to: lastFrame) / .seconds(1)
            ),
            verifiedBytes: reports.reduce(0) { $0 + $1.verifiedBytes },
            corruptFrames: reports.reduce(0) { $0 + $1.corruptFrames },
            minimumViewerFramesPerSecond: reports.map(\.throughput.framesPerSecond).min() ?? 0,
            wire: .init(
                bytes: reports.reduce(0) { $0 + $1.wire.bytes }, frames: reports.reduce(0) { $0 + $1.throughput.frames },
                deltaFrames: reports.reduce(0) { $0 + $1.wire.deltaFrames }, rawFrameBytes: rawFrameBytes
            ),
            latency: .init(combined)
        )
        return (published, reports, aggregate)
    }

    /// Sends frames until `frames` or `duration` is reached, then `end`; returns once every byte has
    /// reached the socket.
    private func publish(on publisher: StreamPublisher, start: ContinuousClock.Instant) async throws -> BenchReport.Throughput {
        let connection = publisher.connection
        let payloadBytes = options.size.rgbaByteCount
        let interval = options.framesPerSecond.map { Duration.nanoseconds(Int64(1e9 / $0)) }
        let deadline = options.duration.map { start + $0 }
        let allocator = ByteBufferAllocator()
        var nextTick = start
        var sequence: UInt64 = 0
        while options.frames.map({ sequence < $0 }) ?? true, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            if let interval {
                try await Task.sleep(until: nextTick, clock: .continuous)
                nextTick = max(nextTick + interval, .now)
            }
            try await connection.waitForBufferedAmount(atMost: options.threshold)
            var message = allocator.buffer(capacity: FrameHeader.v1Length + payloadBytes)
            message.writeRepeatingByte(0, count: FrameHeader.v1Length)
            frames.write(sequence: sequence, size: options.size, into: &message)
            // Captured once the pixels exist, as a camera or canvas would stamp them.
            let header = FrameHeader(
                pixelFormat: .rgba8, width: options.size.width, height: options.size.height,
                sequence: sequence, captureTimeMicros: WallClock.microsecondsNow()
            )
            header.withV1Bytes { _ = message.setBytes($0, at: 0) }
            frames.published(message.getSlice(at: FrameHeader.v1Length, length: payloadBytes)!, sequence: sequence)
            try await connection.send(message)
            sequence += 1
        }
        try await publisher.end(lastSequence: sequence == 0 ? nil : sequence - 1)
        try await connection.waitForBufferedAmount(atMost: 0)
        let elapsed = start.duration(to: .now)
        await connection.close(code: 1000, reason: "bench done")
        return .init(frames: Int(sequence), bytes: Int(sequence) * payloadBytes, seconds: elapsed / .seconds(1))
    }
}
