import CanvasWireNATS
import NIOCore
import Testing

/// Losing a server: a killed nats-server, a dead first URL, a server that stops answering PINGs,
/// and one that stops reading.
@Suite(.serialized) struct ReconnectTests {
    /// Waits for the next event that `matches`, skipping others.
    func waitForEvent(
        _ events: AsyncStream<NATSConnection.Event>, _ what: String, matches: @escaping @Sendable (NATSConnection.Event) -> Bool
    ) async throws -> NATSConnection.Event {
        try await withTimeout(30, what) {
            for await event in events where matches(event) { return event }
            throw ServerError("events ended before \(what)")
        }
    }

    @Test func subscriptionsWorkAgainAfterTheServerIsKilledAndRestarted() async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let messages = try connection.subscribe(to: "survives.restart")
            _ = try connection.subscribe(to: "service") { message in
                if let replyTo = message.replyTo { try? connection.publish(ByteBuffer(string: "pong"), to: replyTo) }
            }
            try await connection.flush()

            await server.kill()
            let lost = try await waitForEvent(connection.events, "the disconnect") {
                if case .disconnected = $0 { return true } else { return false }
            }
            #expect(!connection.isConnected)
            let refused = #expect(throws: NATSError.self) { try connection.publish(ByteBuffer(string: "x"), to: "survives.restart") }
            #expect(refused?.isNotConnected == true, "publishing while disconnected fails at once: \(lost)")

            try await server.restart()
            let back = try await waitForEvent(connection.events, "the reconnect") {
                if case .reconnected = $0 { return true } else { return false }
            }
            #expect(back == .reconnected(server: server.url))
            #expect(connection.isConnected)

            let other = try await connect([server.url])
            try other.publish(ByteBuffer(string: "after restart"), to: "survives.restart")
            let received = try await next(1, of: messages)
            #expect(received.map { String(buffer: $0.payload) } == ["after restart"])
            let reply = try await other.request(ByteBuffer(string: "ping"), to: "service")
            #expect(String(buffer: reply.payload) == "pong")
            // Our own request inbox was renewed too.
            _ = try other.subscribe(to: "other.service") { message in
                if let replyTo = message.replyTo { try? other.publish(ByteBuffer(string: "ok"), to: replyTo) }
            }
            try await other.flush()
            #expect(String(buffer: try await connection.request(ByteBuffer(), to: "other.service").payload) == "ok")
            await other.close()
            await connection.close()
        }
    }

    @Test func connectsAndReconnectsToTheNextURLWhenOneIsDead() async throws {
        try await NATSServerProcess.with { first in
            try await NATSServerProcess.with { second in
                // The first URL refuses connections: the second is used.
                let viaSecond = try await connect([try await NATSServerProcess.deadURL(), second.url])
                #expect(viaSecond.isConnected)
                await viaSecond.close()

                let connection = try await connect([first.url, second.url])
                let messages = try connection.subscribe(to: "moves")
                try await connection.flush()
                await first.kill()
                let back = try await waitForEvent(connection.events, "the reconnect to the second server") {
                    if case .reconnected = $0 { return true } else { return false }
                }
                #expect(back == .reconnected(server: second.url))
                let publisher = try await connect([second.url])
                try publisher.publish(ByteBuffer(string: "on the second server"), to: "moves")
                #expect(try await next(1, of: messages).map { String(buffer: $0.payload) } == ["on the second server"])
                await publisher.close()
                await connection.close()
            }
        }
    }

    /// A refused attempt never makes its channel active; its handler must still let go of the
    /// pipeline (which holds it back), or it keeps the whole connection alive (found by LeakSanitizer).
    @Test func aClosedConnectionIsFreedAfterRefusedAttempts() async throws {
        try await NATSServerProcess.with { live in
            let tracker = WeakReference()
            do {
                let connection = try await connect([try await NATSServerProcess.deadURL(), live.url])
                tracker.connection = connection
                _ = try connection.subscribe(to: "x") { _ in }
                await connection.close()
            }
            try await eventually("the connection to be freed") { tracker.connection == nil }
        }
    }

    @Test func aServerThatStopsAnsweringPingsIsLeftForAnotherConnection() async throws {
        let server = try await ScriptedNATSServer(maxPayload: 1 << 20)
        var configuration = testConfiguration()
        configuration.pingInterval = .milliseconds(50)
        configuration.maxPingsOutstanding = 2
        let connection = try await connect([server.url], configuration: configuration)
        let lost = try await waitForEvent(connection.events, "the stale connection to be dropped") {
            if case .disconnected = $0 { return true } else { return false }
        }
        #expect(lost == .disconnected(reason: "2 PINGs went unanswered (stale connection)"))
        _ = try await waitForEvent(connection.events, "a new connection") {
            if case .reconnected = $0 { return true } else { return false }
        }
        // At least 2: the new connection goes unanswered too and, on a slow run (sanitizers), may
        // already have been replaced by a third 100 ms later.
        #expect(server.accepted >= 2)
        await connection.close()
        try await server.shutdown()
    }

    @Test func pendingOutboundBytesCountsWhatTheSocketHasNotTaken() async throws {
        let server = try await ScriptedNATSServer(maxPayload: 8 << 20, reading: false)
        let connection = try await connect([server.url])
        let frame = ByteBuffer.pattern(8 << 20)
        // The same buffer eight times: publishing does not copy it, so this costs 8 MiB, not 64.
        for _ in 0..<8 { try connection.publish(frame, to: "frames") }
        let handedOver = 8 * (frame.readableBytes + "PUB frames 8388608\r\n".utf8.count + 2)
        // The server reads nothing past the handshake: the kernel takes at most its send buffer
        // (4 MiB here, net.ipv4.tcp_wmem) and the server's 64 KiB receive buffer; the rest stays pending.
        let pending = connection.pendingOutboundBytes
        #expect(pending > handedOver - (8 << 20) && pending <= handedOver)
        let drained = Task { await connection.waitForPendingOutboundBytes(atMost: 1 << 20) }
        server.resumeReading()
        try await withTimeout(30, "the writes to drain once the server reads") { await drained.value }
        #expect(connection.pendingOutboundBytes <= 1 << 20)
        try await eventually("everything to be written") { connection.pendingOutboundBytes == 0 }
        await connection.close()
        try await server.shutdown()
    }
}

/// Set once, then only read by the polling check.
private final class WeakReference: @unchecked Sendable {
    weak var connection: NATSConnection?
}
