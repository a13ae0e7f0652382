import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import CanvasWireTransfer
import NIOCore
import Synchronization
import Testing

/// The sender against in-process relays on 127.0.0.1, through the public API only.
@Suite(.serialized) struct SenderTests {
    let size = FrameSize(width: 4, height: 3)

    private func raw(_ sequence: Int) -> SourceItem {
        .raw(pixels(sequence, size: size), size: size, name: "frame \(sequence)")
    }

    /// Reads frames until `count` arrived or the stream ended; returns their sequences and payloads.
    private func receive(
        _ viewer: StreamSubscriber, count: Int = .max
    ) async throws -> (frames: [(UInt64, [UInt8])], ended: Bool) {
        var frames: [(UInt64, [UInt8])] = []
        for try await event in viewer.events {
            switch event {
            case .frame(let frame):
                frames.append((frame.header.sequence, Array(frame.payload.readableBytesView)))
                if frames.count == count { return (frames, false) }
            case .end:
                return (frames, true)
            case .dropped, .publisher:
                continue
            }
        }
        return (frames, false)
    }

    @Test func reconnectsAfterTheServerClosesItsConnectionAndLosesNoFrame() async throws {
        let (first, port) = try await startServer()
        let base = "ws://127.0.0.1:\(port)/streams/relay"
        let (items, feed) = AsyncThrowingStream<SourceItem, any Error>.makeStream()
        let attempts = Mutex<[Int]>([])
        let sender = Sender(configuration: SenderConfiguration(url: try WebSocketURL(base + "/publish")))
        async let sent = sender.run(FrameSource(items: items, count: 10)) { event in
            if case .reconnecting(let retry) = event { attempts.withLock { $0.append(retry.attempt) } }
        }

        let early = try await StreamSubscriber.connect(to: try WebSocketURL(base), policy: .all)
        for sequence in 0..<5 { feed.yield(raw(sequence)) }
        let before = try await receive(early, count: 5)
        #expect(before.frames.map(\.0) == [0, 1, 2, 3, 4])
        // The server goes away under the sender (close 1001 to every client) and comes back.
        await first.shutdown()
        let (second, _) = try await startServer(port: port)
        let late = try await StreamSubscriber.connect(to: try WebSocketURL(base), policy: .all)
        for sequence in 5..<10 { feed.yield(raw(sequence)) }
        feed.finish()

        let after = try await receive(late)
        let summary = try await sent
        await late.connection.close()
        await second.shutdown()
        #expect(after.ended)
        #expect(after.frames.map(\.0) == [5, 6, 7, 8, 9])
        #expect(after.frames.allSatisfy { $0.1 == pixels(Int($0.0), size: size) })
        #expect(summary.frames == 10 && summary.reconnects == 1 && !summary.stopped)
        #expect(attempts.withLock { $0 } == [1])
    }

    @Test func cancellationClosesWith1001AndDoesNotEndTheStream() async throws {
        let (server, port) = try await startServer()
        let base = "ws://127.0.0.1:\(port)/streams/stop"
        let viewer = try await StreamSubscriber.connect(to: try WebSocketURL(base), policy: .all)
        let (items, feed) = AsyncThrowingStream<SourceItem, any Error>.makeStream()
        let sender = Sender(configuration: SenderConfiguration(url: try WebSocketURL(base + "/publish")))
        let summary = try await withThrowingTaskGroup(of: SenderSummary?.self) { group in
            group.addTask { try await sender.run(FrameSource(items: items)) }
            for sequence in 0..<3 { feed.yield(raw(sequence)) }
            // The source stays open: the sender waits for input when it is stopped.
            #expect(try await receive(viewer, count: 3).frames.map(\.0) == [0, 1, 2])
            group.cancelAll()
            return try await group.next() ?? nil
        }
        var heard: [StreamEvent] = []
        for try await event in viewer.events {
            heard.append(event)
            if case .publisher(let state) = event, !state.connected { break }
        }
        await viewer.connection.close()
        await server.shutdown()
        #expect(summary?.stopped == true && summary?.frames == 3)
        #expect(!heard.contains { if case .end = $0 { true } else { false } })
    }

    @Test func aSourceWithoutASingleFrameIsAnErrorAndEndsNoRun() async throws {
        let (server, port) = try await startServer()
        let base = "ws://127.0.0.1:\(port)/streams/empty"
        let viewer = try await StreamSubscriber.connect(to: try WebSocketURL(base), policy: .all)
        var skipping = SenderConfiguration(url: try WebSocketURL(base + "/publish"))
        skipping.invalidInput = .skip
        let error = await #expect(throws: TransferError.self) {
            _ = try await Sender(configuration: skipping).run(FrameSource(items: AsyncThrowingStream { feed in
                feed.yield(.png([1, 2, 3], name: "broken.png"))
                feed.finish()
            }))
        }
        #expect(error?.description == "no images found in the input, so nothing was sent (1 invalid file skipped)")
        // The publisher left without ending its run, so a receiver waiting for a run keeps waiting.
        var heard: [StreamEvent] = []
        for try await event in viewer.events {
            heard.append(event)
            if case .publisher(let state) = event, !state.connected { break }
        }
        #expect(!heard.contains { if case .end = $0 { true } else { false } })
        await viewer.connection.close()
        await server.shutdown()
    }

    @Test func invalidInputIsSkippedOrStopsTheSender() async throws {
        let (server, port) = try await startServer()
        let url = try WebSocketURL("ws://127.0.0.1:\(port)/streams/bad/publish")
        func items() -> FrameSource {
            FrameSource(items: AsyncThrowingStream { feed in
                feed.yield(raw(0))
                feed.yield(.png([1, 2, 3], name: "broken.png"))
                feed.yield(raw(1))
                feed.finish()
            })
        }
        var skipping = SenderConfiguration(url: url)
        skipping.invalidInput = .skip
        let summary = try await Sender(configuration: skipping).run(items())
        #expect(summary.frames == 2 && summary.skipped.count == 1)
        #expect(summary.skipped.first?.contains("broken.png") == true)

        let error = await #expect(throws: TransferError.self) {
            _ = try await Sender(configuration: SenderConfiguration(url: url)).run(items())
        }
        #expect(error?.description.contains("broken.png") == true)
        await server.shutdown()
    }
}
