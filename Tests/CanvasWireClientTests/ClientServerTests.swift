import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import Logging
import NIOCore
import Testing

/// The client library against an in-process server on 127.0.0.1 with a kernel-chosen port.
@Suite(.serialized) struct ClientServerTests {
    static func withServer(
        _ configuration: ServerConfiguration = ServerConfiguration(port: 0, demoStream: nil),
        threads: Int = 2,
        _ body: (String) async throws -> Void
    ) async throws {
        let server = CanvasWireServer(configuration: configuration, logger: Logger(label: "test"), threads: threads)
        try await server.start()
        let port = try #require(server.port)
        do {
            try await body("ws://127.0.0.1:\(port)")
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    func frame(_ sequence: UInt64, side: Int = 16) -> (FrameHeader, [UInt8]) {
        let header = FrameHeader(pixelFormat: .rgba8, width: side, height: side, sequence: sequence, captureTimeMicros: 1)
        return (header, (0..<side * side * 4).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) })
    }

    @Test func publishedFramesReachEveryViewerIdenticallyAndInOrder() async throws {
        try await Self.withServer { base in
            let url = try WebSocketURL(base + "/streams/lib")
            let viewers = [
                try await StreamSubscriber.connect(to: url, policy: .all),
                try await StreamSubscriber.connect(to: url, policy: .all),
            ]
            #expect(viewers[0].hello.policy == "all" && viewers[0].hello.stream == "lib")
            let publisher = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/lib/publish"))
            #expect(publisher.connection.readyState == .open)
            let publishedFrom = WallClock.microsecondsNow()
            for sequence in 0..<10 {
                let (header, payload) = frame(UInt64(sequence))
                try await publisher.publish(header, payload: payload)
            }
            try await publisher.end(lastSequence: 9)
            try await publisher.connection.waitForBufferedAmount(atMost: 0)
            #expect(publisher.connection.bufferedAmount == 0)
            #expect(publisher.connection.binaryMessagesWritten == 10)

            for viewer in viewers {
                var received: [UInt64] = []
                var ended: ControlMessage.End?
                var lastReceipt = publishedFrom
                loop: for try await event in viewer.events {
                    switch event {
                    case .frame(let received_):
                        let (_, expected) = frame(received_.header.sequence)
                        #expect(Array(received_.payload.readableBytesView) == expected)
                        received.append(received_.header.sequence)
                        // Stamped when the connection read the message: after it was published, in
                        // arrival order, and no later than the moment the consumer takes it.
                        #expect(lastReceipt <= received_.receivedAtMicros)
                        #expect(received_.receivedAtMicros <= WallClock.microsecondsNow())
                        lastReceipt = received_.receivedAtMicros
                    case .end(let end):
                        ended = end
                        break loop
                    case .dropped, .publisher:
                        continue
                    }
                }
                #expect(received == Array(0..<10))
                #expect(ended?.lastSequence == 9)
                let info = await viewer.connection.close(code: 1000, reason: "bye")
                #expect(info.wasClean && info.code == 1000)
                #expect(viewer.connection.readyState == .closed)
            }
            let info = await publisher.connection.close(code: 1000, reason: "done")
            #expect(info == CloseInfo(code: 1000, reason: "", wasClean: true))
        }
    }

    @Test func wrongTokenIsRefusedWithItsHTTPStatus() async throws {
        try await Self.withServer(ServerConfiguration(port: 0, token: "secret", demoStream: nil)) { base in
            let url = try WebSocketURL(base + "/streams/x/publish")
            let error = await #expect(throws: WebSocketClientError.self) {
                _ = try await StreamPublisher.connect(to: url, configuration: .init(token: "wrong"))
            }
            #expect(error?.refusedStatus == 401)
            let publisher = try await StreamPublisher.connect(to: url, configuration: .init(token: "secret"))
            #expect(publisher.hello.role == "publisher")
            await publisher.connection.close()
        }
    }

    @Test func secondPublisherLearnsWhyItWasClosed() async throws {
        try await Self.withServer { base in
            let url = try WebSocketURL(base + "/streams/solo/publish")
            let first = try await StreamPublisher.connect(to: url)
            let error = await #expect(throws: WebSocketClientError.self) {
                _ = try await StreamPublisher.connect(to: url)
            }
            #expect(error?.closeInfo?.code == 1008)
            #expect(error?.closeInfo?.reason.contains("already has a publisher") == true)
            await first.connection.close()
        }
    }

    @Test func shutdownClosesClientsWithGoingAway() async throws {
        let server = CanvasWireServer(configuration: ServerConfiguration(port: 0, demoStream: nil), logger: Logger(label: "test"), threads: 1)
        try await server.start()
        let url = try WebSocketURL("ws://127.0.0.1:\(try #require(server.port))/streams/x")
        let viewer = try await StreamSubscriber.connect(to: url, policy: .latest)
        await server.shutdown()
        let info = await viewer.connection.waitUntilClosed()
        #expect(info.code == 1001 && info.wasClean)
    }

    @Test func echoRoundTripsText() async throws {
        try await Self.withServer { base in
            let connection = try await WebSocketConnection.connect(to: try WebSocketURL(base + "/echo"))
            try await connection.send(text: "héllo")
            var iterator = connection.messages.makeAsyncIterator()
            guard case .text(let text)? = try await iterator.next() else {
                Issue.record("no text echoed")
                return
            }
            #expect(text == "héllo")
            await connection.close()
        }
    }

    @Test(arguments: [WebSocketClientConfiguration.Compression.off, .receive, .sendAndReceive])
    func echoRoundTripsLargeMessagesWhateverTheCompression(_ compression: WebSocketClientConfiguration.Compression) async throws {
        try await Self.withServer { base in
            let connection = try await WebSocketConnection.connect(
                to: try WebSocketURL(base + "/echo"), configuration: WebSocketClientConfiguration(compression: compression)
            )
            #expect(connection.extensions.hasPrefix("permessage-deflate") == (compression != .off))
            var iterator = connection.messages.makeAsyncIterator()
            for size in [0, 1, 200_000, 3 << 20] {
                let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 / 7) }
                try await connection.send(ByteBuffer(bytes: message))
                guard case .binary(let echoed)? = try await iterator.next() else {
                    Issue.record("no binary echo of \(size) bytes")
                    return
                }
                #expect(Array(echoed.readableBytesView) == message, "\(size) bytes")
            }
            await connection.close()
        }
    }
}
