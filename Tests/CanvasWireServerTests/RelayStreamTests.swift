import CanvasWireCore
import CoreMetrics
import NIOCore
import Synchronization
import Testing

@testable import CanvasWireServer

/// Lossless backpressure across event loops: viewers on different loops report stalls and
/// recoveries, and their notices reach the publisher's loop in whatever order the loops run them.
@Suite struct RelayStreamTests {
    /// A publisher whose notices wait in a queue until the test runs them, like tasks queued on its
    /// event loop; `reading` is what it last decided.
    final class QueuedPublisher: RelayPublisher, Sendable {
        let counters = ConnectionCounters(id: 1)
        private let state = Mutex<(queued: Int, reading: Bool)>((0, true))
        let stream: RelayStream

        init(stream: RelayStream) { self.stream = stream }

        func readingConditionChanged() { state.withLock { $0.queued += 1 } }

        /// Runs one queued notice, as the publisher's loop would.
        func runQueuedNotice() {
            let mayRead = stream.publisherMayRead
            state.withLock { state in
                precondition(state.queued > 0, "no notice is queued")
                state.queued -= 1
                state.reading = mayRead
            }
        }

        /// Runs a notice that arrives on the publisher's own loop, where it is handled at once.
        func runInlineNotice() {
            let mayRead = stream.publisherMayRead
            state.withLock { state in
                state.queued -= 1
                state.reading = mayRead
            }
        }

        var reading: Bool { state.withLock { $0.reading } }
        var queued: Int { state.withLock { $0.queued } }
    }

    final class Viewer: RelayViewer {
        let counters = ConnectionCounters(id: 2)
        let policy = DeliveryPolicy.all
        let encoding = ViewerEncoding.raw
        func deliver(_ frame: Frame) {}
        func deliver(_ message: ControlMessage) {}
    }

    func makeStream() -> RelayStream {
        let name = StreamName("test")!
        return RelayStream(name: name, metrics: StreamMetrics(stream: name, factory: NOOPMetricsHandler.instance), makeRunID: { "run" })
    }

    func makeStreamWithTwoViewers() -> (RelayStream, QueuedPublisher, x: Viewer, y: Viewer) {
        let stream = makeStream()
        let publisher = QueuedPublisher(stream: stream)
        #expect(stream.attach(publisher: publisher, continuing: nil) != nil)
        let (x, y) = (Viewer(), Viewer())
        _ = stream.attach(viewer: x)
        _ = stream.attach(viewer: y)
        return (stream, publisher, x, y)
    }

    /// The order that once left a publisher paused for good: viewer X (another loop) stalls and its
    /// notice is queued; viewer Y (the publisher's loop) stalls; X recovers, which is no change while
    /// Y is stalled; Y recovers and its notice runs at once; only then does X's old notice run.
    @Test func aLateStopNoticeCannotPauseThePublisherForGood() {
        let (stream, publisher, x, y) = makeStreamWithTwoViewers()
        defer { stream.detach(publisher: publisher) }  // the two refer to each other, as a session and its stream do

        stream.viewerStalled(x)
        #expect(publisher.queued == 1, "the stream notices the first stalled viewer")
        stream.viewerStalled(y)
        stream.viewerRecovered(x)
        #expect(publisher.queued == 1, "no change while Y is still stalled")
        stream.viewerRecovered(y)
        #expect(publisher.queued == 2)
        publisher.runInlineNotice()
        #expect(publisher.reading)
        publisher.runQueuedNotice()
        #expect(publisher.reading, "the stale notice reads the stream's current state, not the one it was sent for")
    }

    @Test func thePublisherStopsWhileAnyLosslessViewerIsStalled() {
        let (stream, publisher, x, y) = makeStreamWithTwoViewers()
        defer { stream.detach(publisher: publisher) }  // the two refer to each other, as a session and its stream do

        stream.viewerStalled(x)
        stream.viewerStalled(y)
        publisher.runQueuedNotice()
        #expect(!publisher.reading)
        stream.viewerRecovered(x)
        #expect(publisher.queued == 0, "Y still holds the stream back")
        stream.detach(viewer: y)
        #expect(publisher.queued == 1, "a stalled viewer that leaves releases the publisher")
        publisher.runQueuedNotice()
        #expect(publisher.reading)
    }

    @Test func aPublisherThatAttachesWhileAViewerIsStalledStartsPaused() {
        let stream = makeStream()
        let x = Viewer()
        _ = stream.attach(viewer: x)
        stream.viewerStalled(x)
        let publisher = QueuedPublisher(stream: stream)
        #expect(stream.attach(publisher: publisher, continuing: nil) != nil)
        defer { stream.detach(publisher: publisher) }  // the two refer to each other, as a session and its stream do
        #expect(publisher.queued == 1)
        publisher.runQueuedNotice()
        #expect(!publisher.reading)
    }
}

/// Which tiles the stream records as changed for a frame made from a publisher's delta.
@Suite struct RelayStreamDeltaOriginTests {
    /// A delta viewer (so the stream finds changed tiles) that keeps what it is handed.
    final class RecordingViewer: RelayViewer, @unchecked Sendable {
        let counters = ConnectionCounters(id: 3)
        let policy = DeliveryPolicy.all
        let encoding = ViewerEncoding.delta
        var frames: [Frame] = []
        func deliver(_ frame: Frame) { frames.append(frame) }
        func deliver(_ message: ControlMessage) {}
    }

    static let size = FrameSize(width: 64, height: 32)  // 4 x 2 tiles of 16
    static let grid = TileGrid(frameSize: size)

    /// A frame whose pixels are `fill`, with the tiles in `changed` (of the grid) set to `mark`.
    static func frame(_ sequence: UInt64, fill: UInt8 = 0, changed: [Int] = [], mark: UInt8 = 1) -> Frame {
        var pixels = [UInt8](repeating: fill, count: size.rgbaByteCount)
        for tile in changed {
            let rectangle = grid.rectangle(ofTile: tile)
            for y in rectangle.y..<rectangle.y + rectangle.height {
                for x in rectangle.x..<rectangle.x + rectangle.width { pixels[(y * size.width + x) * 4] = mark }
            }
        }
        let header = FrameHeader(pixelFormat: .rgba8, width: size.width, height: size.height, sequence: sequence, captureTimeMicros: 0)
        var message = ByteBuffer(bytes: header.v1Bytes)
        message.writeBytes(pixels)
        return Frame(header: header, message: message)
    }

    func streamWithViewer() -> (RelayStream, RecordingViewer) {
        let name = StreamName("deltas")!
        let stream = RelayStream(name: name, metrics: StreamMetrics(stream: name, factory: NOOPMetricsHandler.instance), makeRunID: { "run" })
        let viewer = RecordingViewer()
        _ = stream.attach(viewer: viewer)
        return (stream, viewer)
    }

    /// A delta payload with these rectangles (their pixels are never read here).
    func payload(_ rectangles: [DeltaRectangle]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(rectangles.count), endianness: .little)
        for rectangle in rectangles {
            for field in [rectangle.x, rectangle.y, rectangle.width, rectangle.height] {
                buffer.writeInteger(UInt16(field), endianness: .little)
            }
            buffer.writeRepeatingByte(0, count: rectangle.width * rectangle.height * 4)
        }
        return buffer
    }

    @Test func aDeltaOnTheLatestFrameIsComparedOnlyInsideItsTiles() {
        let (stream, viewer) = streamWithViewer()
        stream.publish(Self.frame(0))
        let base = viewer.frames[0]
        // Tiles 1 and 6 differ, but the delta's one rectangle covers tiles 1 and 2 only: 6 is not looked at.
        let delta = payload([DeltaRectangle(x: 16, y: 0, width: 32, height: 16)])
        stream.publish(Self.frame(1, changed: [1, 6]), fromDelta: DeltaOrigin(base: base.variants, payload: delta))
        #expect(viewer.frames[1].place.changedTiles.map(Array.init) == [1])
    }

    @Test func aDeltaOnAnOlderFrameIsIgnoredAndTheWholeFrameCompared() {
        let (stream, viewer) = streamWithViewer()
        stream.publish(Self.frame(0))
        stream.publish(Self.frame(1, changed: [0]))
        // Made on frame 0, but frame 1 came between: the candidates say nothing about 1 → 2.
        stream.publish(Self.frame(2, changed: [0, 5]), fromDelta: DeltaOrigin(base: viewer.frames[0].variants, payload: payload([])))
        #expect(viewer.frames[2].place.changedTiles.map(Array.init) == [5])
    }
}
