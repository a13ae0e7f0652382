import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import Logging
import NIOCore
import NIOPosix
import Testing

/// Real failures, each produced the way a user meets it, sorted into those worth retrying and those
/// that repeat until something is changed, and each told in one sentence without library type names.
@Suite(.serialized) struct FailureClassificationTests {
    /// A port on 127.0.0.1 that nothing listens on: bound by the kernel's choice, then released.
    static func closedPort() async throws -> Int {
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        return port
    }

    /// The error of connecting to `url` (as a publisher when it ends in /publish).
    static func failure(connecting url: String, token: String? = nil) async throws -> WebSocketClientError {
        let target = try WebSocketURL(url)
        do {
            let connection = try await WebSocketConnection.connect(to: target, configuration: .init(token: token))
            await connection.close()
            Issue.record("\(url) connected")
            throw CancellationError()
        } catch let error as WebSocketClientError {
            return error
        }
    }

    static func expectOneReadableLine(_ error: WebSocketClientError) {
        let text = error.description
        #expect(!text.contains("\n"), "\(text)")
        for typeName in ["NIO", "Error(", "Failure(", "errno", "IOError", "SocketAddress"] {
            #expect(!text.contains(typeName), "\(text)")
        }
    }

    @Test func nothingListeningIsTransientAndSaysSo() async throws {
        let port = try await Self.closedPort()
        let error = try await Self.failure(connecting: "ws://127.0.0.1:\(port)/streams/cam/publish")
        #expect(error.isTransient)
        #expect(error.description == "cannot connect to ws://127.0.0.1:\(port)/streams/cam/publish: nothing is listening on port \(port)")
        Self.expectOneReadableLine(error)
    }

    @Test func anUnknownHostIsNamed() async throws {
        // Whether the resolver answers "no such name" (final) or "cannot answer now" (transient)
        // depends on the machine's DNS, so only the sentence is checked.
        let error = try await Self.failure(connecting: "ws://no-such-host.invalid/streams/cam")
        #expect(error.description.contains("no-such-host.invalid"))
        Self.expectOneReadableLine(error)
    }

    @Test func handshakeRefusalsAreSortedByStatus() async throws {
        let server = CanvasWireServer(
            configuration: ServerConfiguration(port: 0, token: "secret", maxStreams: 1, demoStream: nil),
            logger: Logger(label: "test"), threads: 1
        )
        try await server.start()
        let base = "ws://127.0.0.1:\(try #require(server.port))"
        let held = try await StreamPublisher.connect(to: try WebSocketURL(base + "/streams/a/publish"), configuration: .init(token: "secret"))

        let unauthorized = try await Self.failure(connecting: base + "/streams/a/publish", token: "wrong")
        #expect(unauthorized.refusedStatus == 401 && !unauthorized.isTransient)
        #expect(unauthorized.description == "\(base)/streams/a/publish refused the connection with HTTP 401: wrong token")
        let badName = try await Self.failure(connecting: base + "/streams/a%20b/publish", token: "secret")
        #expect(badName.refusedStatus == 400 && !badName.isTransient)
        let missing = try await Self.failure(connecting: base + "/nowhere", token: "secret")
        #expect(missing.refusedStatus == 404 && !missing.isTransient)
        // The only place is taken: a new stream must wait until one is free, which can happen any time.
        let full = try await Self.failure(connecting: base + "/streams/b/publish", token: "secret")
        #expect(full.refusedStatus == 503 && full.isTransient)
        for error in [unauthorized, badName, missing, full] { Self.expectOneReadableLine(error) }

        await held.connection.close()
        await server.shutdown()
    }

    @Test func aSecondPublisherIsRefusedForGood() async throws {
        try await ClientServerTests.withServer { base in
            let url = try WebSocketURL(base + "/streams/solo/publish")
            let first = try await StreamPublisher.connect(to: url)
            let error = await #expect(throws: WebSocketClientError.self) { _ = try await StreamPublisher.connect(to: url) }
            #expect(error?.closeInfo?.code == 1008 && error?.isTransient == false)
            #expect(error?.description == "the server closed the connection with 1008 (policy violation): stream \"solo\" already has a publisher")
            await first.connection.close()
        }
    }

    @Test func aServerGoingAwayIsTransient() async throws {
        let server = CanvasWireServer(configuration: ServerConfiguration(port: 0, demoStream: nil), logger: Logger(label: "test"), threads: 1)
        try await server.start()
        let publisher = try await StreamPublisher.connect(to: try WebSocketURL("ws://127.0.0.1:\(try #require(server.port))/streams/x/publish"))
        await server.shutdown()
        _ = await publisher.connection.waitUntilClosed()
        let error = await #expect(throws: WebSocketClientError.self) {
            try await publisher.publish(FrameHeader(pixelFormat: .rgba8, width: 1, height: 1, sequence: 0, captureTimeMicros: 0), payload: [0, 0, 0, 0])
        }
        #expect(error?.closeInfo?.code == 1001 && error?.isTransient == true)
        #expect(error?.description.hasPrefix("the server closed the connection with 1001 (going away)") == true)
    }

    @Test(arguments: [
        ("ws://h/streams/a b/publish", "it contains a space"),
        ("ws://h/streams/caf\u{E9}", "the non-ASCII character \u{E9}"),
        ("ws://h/streams/a\tb", "a control character"),
    ])
    func aURLARequestLineCannotCarryIsInvalid(text: String, named: String) {
        let error = #expect(throws: WebSocketClientError.self) { try WebSocketURL(text) }
        #expect(error?.isTransient == false)
        #expect(error?.description.contains(named) == true)
    }

    @Test func streamNamesAreCheckedByTheServersRule() throws {
        #expect(try WebSocketURL("ws://h/streams/cam/publish").streamName() == StreamName("cam"))
        #expect(try WebSocketURL("ws://h/streams/cam?policy=all").streamName() == StreamName("cam"))
        #expect(try WebSocketURL("ws://h/echo").streamName() == nil)
        for bad in ["ws://h/streams/../publish", "ws://h/streams/.", "ws://h/streams/a%20b"] {
            let error = #expect(throws: WebSocketClientError.self) { try WebSocketURL(bad).streamName() }
            #expect(error?.isTransient == false && error?.description.contains("is not a stream name") == true, "\(bad)")
        }
    }
}
