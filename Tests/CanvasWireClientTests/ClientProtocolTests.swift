import CanvasWireWebSocket
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import CanvasWireClient

/// What the client does with a server that breaks RFC 6455: the client's pipeline (decoder, shared
/// endpoint, client session) on an `EmbeddedChannel`, fed the exact bytes a server would send, in one
/// read when the order within a read matters.
@Suite struct ClientProtocolTests {
    final class Client {
        let channel: EmbeddedChannel
        let messages: AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>
        let session: ClientSession

        init() throws {
            let (messages, continuation) = AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>.makeStream()
            channel = EmbeddedChannel()
            session = ClientSession(eventLoop: channel.eventLoop, maxMessageBytes: 1 << 20, receiveBufferMessages: 100, messages: continuation)
            self.messages = messages
            try channel.pipeline.syncOperations.addHandlers(
                IncrementalFrameDecoder(maxFrameSize: 1 << 20),
                WebSocketEndpointHandler(
                    configuration: .init(endpoint: .init(role: .client), pingInterval: nil),
                    delegate: session, logger: Logger(label: "test")
                )
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// Closes the channel if the test left it open and drops the tasks still scheduled on its loop
        /// (a close handshake's deadline): they hold the pipeline, which holds the loop, and
        /// LeakSanitizer reports every such channel as a leak.
        deinit {
            _ = try? channel.finish(acceptAlreadyClosed: true)
        }

        /// Delivers `bytes` as one read from the server.
        func serverSends(_ bytes: [UInt8]) {
            // A failed connection closes the channel; later reads of the same bytes are what is tested.
            _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        /// The frames the client wrote, in order.
        func sentFrames() throws -> [WebSocketFrame] {
            var frames: [WebSocketFrame] = []
            while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
            return frames
        }

        /// Every message the consumer gets, and the error the sequence ends with, if any.
        func received() async -> (messages: [String], error: (any Error)?) {
            var texts: [String] = []
            do {
                for try await received in messages {
                    switch received.message {
                    case .text(let text): texts.append(text)
                    case .binary(let buffer): texts.append("binary \(buffer.readableBytes)")
                    }
                }
                return (texts, nil)
            } catch {
                return (texts, error)
            }
        }
    }

    /// An unmasked server frame.
    static func frame(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = false) -> [UInt8] {
        var bytes = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
        bytes.append((masked ? 0x80 : 0) | UInt8(payload.count))
        if masked { bytes += [0, 0, 0, 0] }  // a zero key leaves the payload as it is
        return bytes + payload
    }

    static func closeCode(_ frame: WebSocketFrame) -> UInt16? {
        var data = frame.data
        return frame.opcode == .connectionClose ? data.readInteger(as: UInt16.self) : nil
    }

    static let failingFrames: [(String, [UInt8])] = [
        ("rsv 2", frame(0x1, [0x78], rsv: 2)),
        ("reserved opcode 3", frame(0x3, [0x78])),
        ("reserved opcode 0xB", frame(0xB)),
        ("masked frame", frame(0x1, [0x78], masked: true)),
        ("continuation without a message", frame(0x0, [0x78])),
    ]

    @Test(arguments: failingFrames)
    func nothingAfterAFrameThatFailsTheConnectionIsActedOn(_ name: String, _ failing: [UInt8]) async throws {
        let client = try Client()
        client.serverSends(Self.frame(0x1, Array("Hello, world!".utf8)) + failing + Self.frame(0x9, Array("ping".utf8)))
        let sent = try client.sentFrames()
        #expect(sent.map(\.opcode) == [.connectionClose], "\(name): the ping after the failing frame was answered")
        #expect(sent.first.flatMap(Self.closeCode) == 1002)
        let (messages, error) = await client.received()
        #expect(messages == ["Hello, world!"], "what came before the failing frame is delivered")
        #expect(error.map { $0 is WebSocketClientError } == true)
        #expect(client.session.shared.closeInfo.withLock { $0 }?.wasClean == false)
    }

    static let badCloses: [([UInt8], UInt16)] = [
        ([0x03, 0xED], 1002),  // 1005 may not be sent
        ([0x03, 0xE7], 1002),  // 999
        ([0x0B, 0x70], 1002),  // 2928: reserved
        ([0x03], 1002),  // one byte
        ([0x03, 0xE8, 0xED, 0xA0, 0x80], 1007),  // 1000 with a surrogate as its reason
    ]

    @Test(arguments: badCloses)
    func aCloseFrameThatBreaksTheRulesIsAnsweredWithAnError(_ body: [UInt8], _ expected: UInt16) async throws {
        let client = try Client()
        client.serverSends(Self.frame(0x8, body))
        #expect(try client.sentFrames().map(Self.closeCode) == [expected])
    }

    @Test func aControlFrameOver125BytesFailsWith1002() throws {
        let client = try Client()
        client.serverSends([0x89, 126, 0, 126] + [UInt8](repeating: 0x70, count: 126))
        #expect(try client.sentFrames().map(Self.closeCode) == [1002])
    }

    @Test func aValidCloseIsEchoedAndTheConnectionEndsClean() async throws {
        let client = try Client()
        client.serverSends(Self.frame(0x8, [0x03, 0xE9] + Array("going away".utf8)))
        #expect(try client.sentFrames().map(Self.closeCode) == [1001])
        let (_, error) = await client.received()
        #expect(error == nil)
        #expect(client.session.shared.closeInfo.withLock { $0 } == CloseInfo(code: 1001, reason: "going away", wasClean: true))
    }

    @Test func theClientsOwnCloseReasonFitsTheFrameAndStaysUTF8() throws {
        let client = try Client()
        client.session.close(code: 4000, reason: String(repeating: "€", count: 60))  // 180 bytes of UTF-8
        let close = try #require(try client.sentFrames().first)
        #expect(close.data.readableBytes <= 125)
        #expect(String(validating: close.data.readableBytesView.dropFirst(2), as: UTF8.self) == String(repeating: "€", count: 41))
    }

    @Test func aMessageSplitAcrossReadsArrivesWhole() async throws {
        let client = try Client()
        let message = Self.frame(0x2, [UInt8](repeating: 7, count: 100))
        client.serverSends(Array(message[..<40]))
        client.serverSends(Array(message[40...]) + Self.frame(0x1, Array("ok".utf8)))
        try await client.channel.close()
        let (messages, _) = await client.received()
        #expect(messages == ["binary 100", "ok"])
    }
}
