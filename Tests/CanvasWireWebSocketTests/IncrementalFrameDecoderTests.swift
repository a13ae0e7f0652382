import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import CanvasWireWebSocket

/// The server's frame decoder against frames encoded by NIO's own encoder, cut into reads of every
/// size: whatever the cuts, the payload pieces must put the original frames back together.
@Suite struct IncrementalFrameDecoderTests {
    static let maskKey: WebSocketMaskingKey = [0x12, 0x34, 0x56, 0x78]

    /// Encodes `frames` as a client would send them, masked, with NIO's `WebSocketFrameEncoder`.
    func encode(_ frames: [WebSocketFrame]) throws -> [UInt8] {
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        var bytes: [UInt8] = []
        for frame in frames {
            try channel.writeOutbound(frame)
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                bytes += buffer.readBytes(length: buffer.readableBytes)!
            }
        }
        _ = try channel.finish()
        return bytes
    }

    /// Feeds `bytes` to a decoder in reads of `readSize` and rebuilds frames from what it hands on.
    func decode(_ bytes: [UInt8], readSize: Int, maxFrameSize: Int = 1 << 20) throws -> (frames: [WebSocketFrame], error: IncomingFrameError?) {
        let channel = EmbeddedChannel(handler: IncrementalFrameDecoder(maxFrameSize: maxFrameSize))
        var frames: [WebSocketFrame] = []
        var pending: (header: IncomingFrameHeader, payload: [UInt8])?
        var error: IncomingFrameError?
        var offset = 0
        while offset < bytes.count, error == nil {
            let end = min(offset + readSize, bytes.count)
            do {
                try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            } catch let framing as IncomingFrameError {
                error = framing
            }
            offset = end
            while let part = try channel.readInbound(as: IncomingFramePart.self) {
                switch part {
                case .control(let frame):
                    frames.append(frame)
                case .dataFrame(let header):
                    #expect(pending == nil, "a frame starts only after the previous one ended")
                    pending = (header, [])
                case .payload(var slice, let maskOffset, let endsFrame):
                    let current = try #require(pending)
                    #expect(maskOffset == current.payload.count, "pieces arrive in order, each saying where it starts")
                    pending?.payload += slice.readBytes(length: slice.readableBytes)!
                    if endsFrame, let (header, payload) = pending {
                        #expect(payload.count == header.length)
                        frames.append(WebSocketFrame(
                            fin: header.fin, rsv1: header.rsv1, opcode: header.opcode, maskKey: header.maskKey,
                            data: ByteBuffer(bytes: payload)
                        ))
                        pending = nil
                    }
                }
            }
        }
        _ = try? channel.finish()
        return (frames, error)
    }

    func frame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: Self.maskKey, data: ByteBuffer(bytes: payload))
    }

    @Test(arguments: [1, 2, 3, 7, 14, 100, 70_000, 1 << 20])
    func framesSurviveAnyReadSize(readSize: Int) throws {
        let sent = [
            frame(.binary, Array(0..<200).map { UInt8($0 & 0xFF) }, fin: false),  // 16-bit length
            frame(.ping, [1, 2, 3]),  // a control frame inside a fragmented message
            frame(.continuation, Array(repeating: 0xAB, count: 70_000), fin: false),  // 64-bit length
            frame(.continuation, [], fin: true),  // empty, still ends the message
            frame(.pong, []),
            frame(.text, Array("hello".utf8), rsv1: true),  // the session, not the decoder, judges RSV bits
            frame(.connectionClose, [0x03, 0xE8]),
        ]
        let (received, error) = try decode(try encode(sent), readSize: readSize)
        #expect(error == nil)
        #expect(received.count == sent.count)
        for (got, expected) in zip(received, sent) {
            #expect(got.opcode == expected.opcode)
            #expect(got.fin == expected.fin)
            #expect(got.rsv1 == expected.rsv1)
            #expect(got.maskKey == expected.maskKey)
            #expect(got.unmaskedData == expected.data, "payload of \(expected.opcode) frame")
        }
    }

    @Test func maskingKeyFollowsThePayloadOffset() {
        let key: WebSocketMaskingKey = [1, 2, 3, 4]
        #expect(key.startingAt(offset: 0) == key)
        #expect(key.startingAt(offset: 1) == [2, 3, 4, 1])
        #expect(key.startingAt(offset: 6) == [3, 4, 1, 2])
    }

    @Test func unmaskedFramesAreHandedOnForTheSessionToRefuse() throws {
        let bytes: [UInt8] = [0x82, 0x02, 0xAA, 0xBB]  // binary, unmasked, 2 bytes
        let (received, error) = try decode(bytes, readSize: 1)
        #expect(error == nil)
        #expect(received.first?.maskKey == nil)
        #expect(received.first?.data == ByteBuffer(bytes: [0xAA, 0xBB]))
    }

    @Test(arguments: [
        // FIN clear on a ping.
        ([0x09, 0x80, 0, 0, 0, 0] as [UInt8], WebSocketErrorCode.protocolError),
        // A ping of 126 bytes, announced with the 16-bit length.
        ([0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0], .protocolError),
        // A length with the 64th bit set.
        ([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], .protocolError),
        // Larger than the decoder's limit (1000 bytes here).
        ([0x82, 0xFE, 0x03, 0xE9, 0, 0, 0, 0], .messageTooLarge),
    ])
    func brokenHeadersAreRefusedBeforeTheirPayload(bytes: [UInt8], code: WebSocketErrorCode) throws {
        for readSize in [1, bytes.count] {
            let (received, error) = try decode(bytes, readSize: readSize, maxFrameSize: 1000)
            #expect(received.isEmpty)
            #expect(error?.closeCode == code)
        }
    }

    @Test func nothingIsDecodedAfterAnError() throws {
        let broken: [UInt8] = [0x09, 0x80, 0, 0, 0, 0]
        let (received, error) = try decode(broken + (try encode([frame(.ping, [1])])), readSize: 100)
        #expect(error != nil)
        #expect(received.isEmpty, "a byte stream that broke framing cannot be framed again")
    }
}
