import CanvasWireCore
import NIOCore

/// The built-in `demo` stream: an animated test pattern with a visible frame counter, rendered by the
/// server itself so the viewer page shows moving pixels with no publisher running.
///
/// It is an ordinary publisher of its stream, so lossless viewers pause it like any other.
/// Confined to its event loop.
final class DemoPublisher: RelayPublisher, @unchecked Sendable {
    let counters: ConnectionCounters
    private let stream: RelayStream
    private let size: FrameSize
    private let eventLoop: any EventLoop
    private let allocator = ByteBufferAllocator()
    private var sequence: UInt64 = 0
    private var reading = true
    private var task: RepeatedTask?

    init(stream: RelayStream, configuration: DemoStreamConfiguration, eventLoop: any EventLoop, id: Int) {
        self.stream = stream
        self.size = configuration.size
        self.eventLoop = eventLoop
        self.counters = ConnectionCounters(id: id)
        let interval = TimeAmount.nanoseconds(1_000_000_000 / Int64(max(1, configuration.framesPerSecond)))
        eventLoop.execute {
            guard stream.attach(publisher: self, continuing: nil) != nil else { return }
            self.task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { _ in self.tick() }
        }
    }

    func readingConditionChanged() {
        eventLoop.execute { self.reading = self.stream.publisherMayRead }
    }

    func stop() {
        eventLoop.execute {
            self.task?.cancel()
            self.stream.detach(publisher: self)
        }
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
