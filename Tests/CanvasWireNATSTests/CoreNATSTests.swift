import CanvasWireNATS
import NIOCore
import Synchronization
import Testing

/// Core NATS against a real nats-server 2.9 on 127.0.0.1, one server per test.
@Suite(.serialized) struct CoreNATSTests {
    @Test func messagesUpToMaxPayloadArriveIntactAndLargerOnesAreRefusedBeforeSending() async throws {
        try await NATSServerProcess.with { server in
            let subscriber = try await connect([server.url])
            let publisher = try await connect([server.url])
            let maxPayload = publisher.serverInfo.maxPayload
            #expect(maxPayload == 1 << 20, "nats-server's default max_payload")
            #expect(publisher.serverInfo.supportsHeaders && publisher.serverInfo.supportsJetStream)
            let messages = try subscriber.subscribe(to: "frames.*")
            try await subscriber.flush()

            let payloads = [ByteBuffer.pattern(0), .pattern(5, seed: 1), .pattern(maxPayload, seed: 2)]
            for (index, payload) in payloads.enumerated() { try publisher.publish(payload, to: "frames.\(index)") }
            let error = #expect(throws: NATSError.self) {
                try publisher.publish(.pattern(maxPayload + 1), to: "frames.big")
            }
            #expect(error?.description.contains("exceeds the server's max_payload of 1048576 bytes") == true)
            try publisher.publish(.pattern(3, seed: 9), to: "frames.after")

            let received = try await next(4, of: messages)
            #expect(received.map(\.subject) == ["frames.0", "frames.1", "frames.2", "frames.after"])
            #expect(received.map(\.payload) == payloads + [.pattern(3, seed: 9)])
            try await publisher.flush()
            #expect(publisher.pendingOutboundBytes == 0)
            await publisher.close()
            await subscriber.close()
        }
    }

    @Test func headersAndReplySubjectsRoundTrip() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let messages = try connection.subscribe(to: "with.headers")
            try await connection.flush()
            var headers = NATSHeaders([("Canvas-Stream", "cam"), ("Canvas-Sequence", "42")])
            headers.add(name: "Canvas-Stream", value: "second value: with colon")
            try connection.publish(.pattern(100), to: "with.headers", replyTo: "answers.here", headers: headers)
            let message = try #require(try await next(1, of: messages).first)
            #expect(message.headers == headers)
            #expect(message.headers?.values(for: "canvas-stream") == ["cam", "second value: with colon"])
            #expect(message.replyTo == "answers.here")
            #expect(message.payload == .pattern(100))
            await connection.close()
        }
    }

    @Test func aQueueGroupSharesMessagesWhileAPlainSubscriberGetsThemAll() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let counts = Mutex([0, 0, 0])
            for member in 0..<2 {
                _ = try connection.subscribe(to: "work", queueGroup: "workers") { _ in counts.withLock { $0[member] += 1 } }
            }
            _ = try connection.subscribe(to: "work") { _ in counts.withLock { $0[2] += 1 } }
            try await connection.flush()
            for _ in 0..<200 { try connection.publish(.pattern(8), to: "work") }
            try await eventually("200 messages to the plain subscriber and 200 shared by the group") {
                counts.withLock { $0[2] == 200 && $0[0] + $0[1] == 200 }
            }
            // Random distribution: each member getting none of 200 has odds of 2^-200.
            #expect(counts.withLock { $0[0] > 0 && $0[1] > 0 })
            await connection.close()
        }
    }

    @Test func unsubscribeStopsDelivery() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let received = Mutex<[String]>([])
            let subscription = try connection.subscribe(to: "topic") { message in
                received.withLock { $0.append(String(buffer: message.payload)) }
            }
            let sentinel = try connection.subscribe(to: "sentinel")
            try await connection.flush()
            try connection.publish(ByteBuffer(string: "before"), to: "topic")
            try await eventually("the first message") { received.withLock { $0 == ["before"] } }
            subscription.unsubscribe()
            try connection.publish(ByteBuffer(string: "after"), to: "topic")
            try connection.publish(ByteBuffer(string: "done"), to: "sentinel")
            // The server handles one connection's operations in order: once the sentinel is back,
            // "after" was either delivered by now or never will be.
            _ = try await next(1, of: sentinel)
            try await connection.flush()
            #expect(received.withLock { $0 } == ["before"])
            await connection.close()
        }
    }

    @Test func autoUnsubscribeEndsAfterNMessages() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let messages = try connection.subscribe(to: "counted")
            messages.subscription.unsubscribe(afterMessages: 3)
            try await connection.flush()
            for index in 0..<10 { try connection.publish(ByteBuffer(string: "\(index)"), to: "counted") }
            let received = try await withTimeout(20, "the subscription to end after 3 messages") {
                var received: [String] = []
                for await message in messages { received.append(String(buffer: message.payload)) }
                return received
            }
            #expect(received == ["0", "1", "2"])
            await connection.close()
        }
    }

    @Test func requestGetsTheReplyTimesOutOrLearnsThereAreNoResponders() async throws {
        try await NATSServerProcess.with { server in
            let responder = try await connect([server.url])
            _ = try responder.subscribe(to: "echo.upper") { message in
                guard let replyTo = message.replyTo else { return }
                try? responder.publish(ByteBuffer(string: String(buffer: message.payload).uppercased()), to: replyTo)
            }
            _ = try responder.subscribe(to: "black.hole") { _ in }
            try await responder.flush()

            let requester = try await connect([server.url])
            let replies = try await withTimeout(20, "three concurrent requests") {
                try await withThrowingTaskGroup(of: String.self) { group in
                    for word in ["a", "b", "c"] {
                        group.addTask { String(buffer: try await requester.request(ByteBuffer(string: word), to: "echo.upper").payload) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }.sorted()
                }
            }
            #expect(replies == ["A", "B", "C"])

            let timeout = await #expect(throws: NATSError.self) {
                _ = try await requester.request(ByteBuffer(string: "?"), to: "black.hole", timeout: .milliseconds(200))
            }
            #expect(timeout?.isTimeout == true)
            let nobody = await #expect(throws: NATSError.self) {
                _ = try await requester.request(ByteBuffer(string: "?"), to: "nobody.listens")
            }
            #expect(nobody?.isNoResponders == true)
            #expect(nobody?.description.contains("no responders for nobody.listens") == true)
            await requester.close()
            await responder.close()
        }
    }

    @Test func aServerErrorIsSurfacedWithItsText() async throws {
        try await NATSServerProcess.with(extraArguments: ["--auth", "s3cret"]) { server in
            let error = await #expect(throws: NATSError.self) {
                _ = try await connect([server.url])
            }
            #expect(error?.serverError == "Authorization Violation")
            #expect(error?.description.contains("-ERR 'Authorization Violation'") == true)
        }
    }

    @Test func closingEndsSubscriptionsAndRefusesFurtherUse() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let messages = try connection.subscribe(to: "x")
            var events = connection.events.makeAsyncIterator()
            await connection.close()
            let ended = try await withTimeout(20, "the stream to end") { for await _ in messages {}; return true }
            #expect(ended)
            #expect(await events.next() == .closed)
            #expect(!connection.isConnected)
            #expect(throws: NATSError.self) { try connection.publish(ByteBuffer(), to: "x") }
            #expect(throws: NATSError.self) { _ = try connection.subscribe(to: "x") }
        }
    }
}
