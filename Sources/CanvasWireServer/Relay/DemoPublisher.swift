import CanvasWireCore
import NIOCore

/// The built-in `demo` stream: an animated test pattern with a visible frame counter, rendered by the
/// server itself so the viewer page shows moving pixels with no publisher running.
///
/// It is an ordinary publisher of its stream, so lossless viewers pause it like any other. In a
/// cluster it claims the stream like any publisher: one node plays it for all, and the others try
/// again every few seconds, so another takes over when that node goes away.
/// Confined to its event loop.
final class DemoPublisher: RelayPublisher, @unchecked Sendable {
    /// How long a node whose claim on the demo stream was refused waits before it asks again.
    private static let claimRetry = TimeAmount.seconds(5)

    let counters: ConnectionCounters
    private let stream: RelayStream
    private let size: FrameSize
    private let interval: TimeAmount
    private let eventLoop: any EventLoop
    private let cluster: ClusterNode?
    private let allocator = ByteBufferAllocator()
    private var sequence: UInt64 = 0
    private var reading = true
    private var stopped = false
    private var task: RepeatedTask?
    private var retry: Scheduled<Void>?

    init(stream: RelayStream, configuration: DemoStreamConfiguration, eventLoop: any EventLoop, id: Int, cluster: ClusterNode?) {
        self.stream = stream
        self.size = configuration.size
        self.eventLoop = eventLoop
        self.cluster = cluster
        self.counters = ConnectionCounters(id: id)
        self.interval = TimeAmount.nanoseconds(1_000_000_000 / Int64(max(1, configuration.framesPerSecond)))
        eventLoop.execute { self.begin() }
    }

    func readingConditionChanged() {
        eventLoop.execute { self.reading = self.stream.publisherMayRead }
    }

    func stop() {
        eventLoop.execute {
            self.stopped = true
            self.retry?.cancel()
            self.pause()
        }
    }

    private func begin() {
        guard !stopped else { return }
        guard let cluster else { return play() }
        let token = ClaimToken(self) { [eventLoop] _ in
            eventLoop.execute {
                self.pause()
                self.retryLater()
            }
        }
        cluster.claim(stream.name, token: token, on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                if self.stopped { return cluster.release(self.stream.name, holder: self) }
                self.play()
            case .failure:
                self.retryLater()
            }
        }
    }

    private func retryLater() {
        guard !stopped else { return }
        retry = eventLoop.assumeIsolated().scheduleTask(in: Self.claimRetry) { self.begin() }
    }

    private func play() {
        guard task == nil else { return }
        guard stream.attach(publisher: self, continuing: nil) != nil else {
            // A publisher connected here first (the node's claim covers both): give the claim back
            // and try again later, rather than hold it with nothing playing.
            cluster?.release(stream.name, holder: self)
            return retryLater()
        }
        task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { _ in self.tick() }
    }

    private func pause() {
        guard let task else { return }
        task.cancel()
        self.task = nil
        stream.detach(publisher: self)
        cluster?.release(stream.name, holder: self)
    }

    private func tick() {
        guard reading else { return }
        let header = FrameHeader(
            pixelFormat: .rgba8, width: size.width, height: size.height,
            sequence: sequence, captureTimeMicros: WallClock.microsecondsNow()
        )
        var buffer = allocator.buffer(capacity: FrameHeader.v1Length + size.rgbaByteCount)
        header.withV1Bytes { _ = buffer.writeBytes($0) }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size.rgbaByteCount) { pixels in
            TestPattern.render(into: pixels, size: size, frame: sequence)
            return size.rgbaByteCount
        }
        counters.countSentFrame()
        stream.publish(Frame(header: header, message: buffer))
        sequence += 1
    }
}
