import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import Logging
import NIOCore
import Synchronization
import Testing

/// The reconnect loop against real servers: what it retries, for how long, and that a reconnect
/// continues the publisher's run so a receiver saving that run carries on.
@Suite(.serialized) struct ReconnectingPublisherTests {
    static func frame(_ sequence: Int) -> (FrameHeader, [UInt8]) {
        let header = FrameHeader(pixelFormat: .rgba8, width: 2, height: 2, sequence: UInt64(sequence), captureTimeMicros: 1)
        return (header, (0..<16).map { UInt8(truncatingIfNeeded: $0 &+ sequence &* 16) })
    }

    /// Polls `condition` every 10 ms for up to 30 s.
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aFailureThatCannotHealIsThrownAtOnce() async throws {
        try await ClientServerTests.withServer(ServerConfiguration(port: 0, token: "secret", demoStream: nil)) { base in
            let retries = Mutex(0)
            var publisher = ReconnectingPublisher(
                url: try WebSocketURL(base + "/streams/cam/publish"),
                configuration: .init(client: .init(token: "wrong")),
                onReconnect: { _ in retries.withLock { $0 += 1 } }
            )
            do {
                try await publisher.connect()
                Issue.record("a wrong token was accepted")
            } catch let error as WebSocketClientError {
                #expect(error.refusedStatus == 401)
            }
            #expect(retries.withLock { $0 } == 0 && publisher.reconnects == 0)
        }
    }

    @Test func transientFailuresAreRetriedForTheBoundAndThenGivenUp() async throws {
        let port = try await FailureClassificationTests.closedPort()
        let retries = Mutex<[ReconnectingPublisher.Retry]>([])
        var publisher = ReconnectingPublisher(
            url: try WebSocketURL("ws://127.0.0.1:\(port)/streams/cam/publish"),
            configuration: .init(retryFor: .milliseconds(800)),
            onReconnect: { retry in retries.withLock { $0.append(retry) } }
        )
        do {
            try await publisher.connect()
            Issue.record("connected to a closed port")
        } catch let error as WebSocketClientError {
            #expect(error.isTransient)
            #expect(error.description.hasPrefix("cannot connect to ws://127.0.0.1:\(port)/streams/cam/publish: nothing is listening on port \(port); gave up after retrying for"))
        }
        let seen = retries.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(seen.map(\.attempt) == Array(1...seen.count), "attempts count up within one run of failures")
        #expect(seen.allSatisfy { !$0.wasConnected && $0.remaining > .zero && $0.remaining <= .milliseconds(800) })
        #expect(publisher.reconnects == seen.count)
    }

    @Test func aReconnectContinuesTheRunSoAReceiverKeepsSaving() async throws {
        try await ClientServerTests.withServer { base in
            let upstream = try #require(Int(base.split(separator: ":").last!))
            let relay = try await TCPRelay.start(to: upstream)
            let viewer = try await StreamSubscriber.connect(to: try WebSocketURL(base + "/streams/cam"), policy: .all)
            var follower = RunFollower()
            follower.received(viewer.hello)
            var events = viewer.events.makeAsyncIterator()
            /// The viewer's events up to and including the first that `last` accepts, with the receiver's
            /// decision for each frame and end.
            func receive(until last: (StreamEvent) -> Bool) async throws -> [(StreamEvent, RunFollower.Decision?)] {
                var seen: [(StreamEvent, RunFollower.Decision?)] = []
                while let event = try await events.next() {
                    switch event {
                    case .frame: seen.append((event, follower.receivedFrame()))
                    case .publisher(let state): seen.append((event, follower.received(state)))
                    case .end(let end): seen.append((event, follower.received(end)))
                    case .dropped: seen.append((event, nil))
                    }
                    if last(event) { return seen }
                }
                return seen
            }
            func isFrame(_ sequence: UInt64) -> (StreamEvent) -> Bool {
                { if case .frame(let frame) = $0 { frame.header.sequence == sequence } else { false } }
            }

            var publisher = ReconnectingPublisher(url: try WebSocketURL("ws://127.0.0.1:\(relay.port)/streams/cam/publish"))
            for sequence in 0..<3 {
                let (header, payload) = Self.frame(sequence)
                try await publisher.publish(header, payload: payload)
            }
            let run = try #require(publisher.run)
            let before = try await receive(until: isFrame(2))
            // The network fails under the publisher; the server keeps the run, interrupted.
            try await relay.cutAll()
            try await Self.waitUntil("the publisher to see its connection fail") { publisher.readyState == .closed }
            for sequence in 3..<6 {
                let (header, payload) = Self.frame(sequence)
                try await publisher.publish(header, payload: payload)
            }
            #expect(try await publisher.finish(lastSequence: 5).code == 1000)
            let after = try await receive(until: { if case .end = $0 { true } else { false } })

            #expect(publisher.run == run && publisher.reconnects == 1)
            let frames = (before + after).compactMap { event, decision -> (UInt64, RunFollower.Decision?)? in
                if case .frame(let frame) = event {
                    #expect(Array(frame.payload.readableBytesView) == Self.frame(Int(frame.header.sequence)).1)
                    return (frame.header.sequence, decision)
                }
                return nil
            }
            #expect(frames.map(\.0) == [0, 1, 2, 3, 4, 5])
            #expect(frames.allSatisfy { $0.1 == .save }, "a receiver saves every frame of the run, across the reconnect")
            let states = after.compactMap { event, _ -> ControlMessage.PublisherState? in
                if case .publisher(let state) = event { state } else { nil }
            }
            #expect(states.map(\.runState) == [.interrupted, .live])
            #expect(states.allSatisfy { $0.run == run } && states.last?.continued == true)
            if case (.end(let end), let decision)? = after.last {
                #expect(end.run == run && decision == .finish)
            } else {
                Issue.record("the run did not end")
            }
            await viewer.connection.close()
            try await relay.stop()
        }
    }
}
