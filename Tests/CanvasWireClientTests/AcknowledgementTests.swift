import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import NIOCore
import Testing

/// Acknowledged viewers (`?ack=N`, docs/PROTOCOL.md) through the client library, against an
/// in-process server on 127.0.0.1 with a kernel-chosen port.
///
/// The server runs one event loop, so a frame published to two viewers has been offered to both by
/// the time either receives it: a plain viewer that got frame n tells that the acknowledging viewer's
/// outbox holds frame n too, without any wait.
@Suite(.serialized) struct AcknowledgementTests {
    /// One event loop (see above).
    static func withServer(
        _ configuration: ServerConfiguration = ServerConfiguration(port: 0, demoStream: nil),
        _ body: (String) async throws -> Void
    ) async throws {
        try await ClientServerTests.withServer(configuration, threads: 1, body)
    }

    func publish(_ sequences: ClosedRange<UInt64>, with publisher: StreamPublisher) async throws {
        for sequence in sequences {
            let header = FrameHeader(pixelFormat: .rgba8, width: 4, height: 4, sequence: sequence, captureTimeMicros: 1)
            try await publisher.publish(header, payload: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: 64))
        }
    }

    /// The next frame of `iterator`, skipping control messages other than `dropped`, which it returns.
    func nextFrame(
        _ iterator: inout StreamSubscriber.Events.Iterator
    ) async throws -> (frame: ReceivedFrame, dropped: ControlMessage.Dropped?) {
        var dropped: ControlMessage.Dropped?
        while let event = try await iterator.next() {
            switch event {
            case .frame(let frame): return (frame, dropped)
            case .dropped(let report): dropped = report
            case .publisher, .end: continue
            }
        }
        throw StreamEnded()
    }

    struct StreamEnded: Error {}

    @Test func aLatestViewerGetsTheWindowThenTheNewestFrameWhenItAcks() async throws {
        try await Self.withServer { base in
            let url = try WebSocketURL(base + "/streams/acks")
            let acking = try await StreamSubscriber.connect(to: url, policy: .latest, ackWindow: 2)
            #expect(acking.ackWindow == 2 && acking.hello.ack == 2)
            let plain = try await StreamSubscriber.connect(to: url, policy: .all)
            #expect(plain.ackWindow == nil)
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/acks/publish"))
            try await publish(0...9, with: publisher)
            var plainFrames = plain.events.makeAsyncIterator()
            for expected in UInt64(0)...9 { #expect(try await nextFrame(&plainFrames).frame.header.sequence == expected) }

            // Every frame is published and offered; the acknowledging viewer got only its window.
            var frames = acking.events.makeAsyncIterator()
            let first = try await nextFrame(&frames).frame
            let second = try await nextFrame(&frames).frame
            #expect([first.header.sequence, second.header.sequence] == [0, 1])
            try await acking.acknowledge(first)
            let newest = try await nextFrame(&frames)
            #expect(newest.frame.header.sequence == 9, "the newest frame, not the next one")
            #expect(newest.dropped == .init(count: 7, total: 7))
            // The window holds 1 and 9 now: frame 10 waits until one of them is acknowledged.
            try await publish(10...10, with: publisher)
            #expect(try await nextFrame(&plainFrames).frame.header.sequence == 10)
            try await acking.acknowledge(newest.frame)  // covers frame 1 too
            #expect(try await nextFrame(&frames).frame.header.sequence == 10)
            _ = await publisher.connection.close()
        }
    }

    @Test func aLatestViewerThatDoesNotAckGetsNothingMoreBeforeTheEnd() async throws {
        try await Self.withServer { base in
            let url = try WebSocketURL(base + "/streams/quiet")
            let acking = try await StreamSubscriber.connect(to: url, policy: .latest, ackWindow: 1)
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/quiet/publish"))
            try await publish(0...4, with: publisher)
            try await publisher.end(lastSequence: 4)
            var frames: [UInt64] = []
            var dropped: UInt64 = 0
            loop: for try await event in acking.events {
                switch event {
                case .frame(let frame): frames.append(frame.header.sequence)
                case .dropped(let report): dropped = report.total
                case .publisher: continue
                case .end: break loop
                }
            }
            #expect(frames == [0], "one frame in flight, never acknowledged: nothing else may come")
            #expect(dropped == 0, "drops are reported before the next frame, and none came")
            _ = await publisher.connection.close()
        }
    }

    @Test func aLosslessViewerThatNeverAcksIsCutByTheStallTimeout() async throws {
        let configuration = ServerConfiguration(port: 0, stallTimeout: .milliseconds(300), demoStream: nil)
        try await Self.withServer(configuration) { base in
            let url = try WebSocketURL(base + "/streams/stuck")
            let acking = try await StreamSubscriber.connect(to: url, policy: .all, ackWindow: 1)
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/stuck/publish"))
            try await publish(0...2, with: publisher)
            var frames: [UInt64] = []
            for try await event in acking.events {
                if case .frame(let frame) = event { frames.append(frame.header.sequence) }
            }
            let info = await acking.connection.waitUntilClosed()
            #expect(info.code == 1008)
            #expect(info.reason.contains("lossless viewer stalled"))
            #expect(frames == [0], "frames 1 and 2 waited for an ack that never came")
            _ = await publisher.connection.close()
        }
    }

    @Test func aLosslessViewerThatAcksGetsEveryFrameInOrder() async throws {
        try await Self.withServer { base in
            let url = try WebSocketURL(base + "/streams/paced")
            let acking = try await StreamSubscriber.connect(to: url, policy: .all, ackWindow: 1)
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/paced/publish"))
            try await publish(0...19, with: publisher)
            try await publisher.end(lastSequence: 19)
            var frames: [UInt64] = []
            loop: for try await event in acking.events {
                switch event {
                case .frame(let frame):
                    frames.append(frame.header.sequence)
                    try await acking.acknowledge(frame)
                case .end: break loop
                case .dropped, .publisher: continue
                }
            }
            #expect(frames == Array(0...19))
            _ = await publisher.connection.close()
        }
    }

    @Test(arguments: [
        (#"{"type":"ack"}"#, "?ack=1", UInt16(1007), "\"ack\" message has missing or mistyped fields"),
        (#"{"type":"ack","sequence":"0"}"#, "?ack=1", 1007, "\"ack\" message has missing or mistyped fields"),
        (#"{"type":"ack","sequence":12345}"#, "?ack=1", 1008, "ack for frame 12345, which is not in flight (only 0 is)"),
        (#"{"type":"ack","sequence":0}"#, "", 1008, "ack messages need a viewer connection opened with ?ack=N"),
    ])
    func badAcksCloseWithAClearCode(message: String, query: String, code: UInt16, reason: String) async throws {
        try await Self.withServer { base in
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/bad/publish"))
            try await publish(0...0, with: publisher)
            let url = try WebSocketURL(base + "/streams/bad" + query)
            let viewer = try await StreamSubscriber.connect(to: url, policy: .latest)
            var events = viewer.events.makeAsyncIterator()
            #expect(try await nextFrame(&events).frame.header.sequence == 0)
            try await viewer.connection.send(text: message)
            let info = await viewer.connection.waitUntilClosed()
            #expect(info.code == code)
            #expect(info.reason.contains(reason), "\(info.reason)")
            _ = await publisher.connection.close()
        }
    }
}
