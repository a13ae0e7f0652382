import NIOCore
import NIOWebSocket

/// What ``IncrementalFrameDecoder`` hands on: control frames whole, data frames as a header followed
/// by their payload in the pieces the socket delivered.
enum IncomingFramePart {
    /// A ping, pong or close frame (or a reserved control opcode), complete: at most 125 bytes.
    case control(WebSocketFrame)
    /// The start of a text, binary or continuation frame (or a reserved data opcode). Its payload
    /// follows in ``payload(_:maskOffset:endsFrame:)`` parts, at least one, empty for an empty frame.
    case dataFrame(IncomingFrameHeader)
    /// Payload bytes of the current data frame, still masked: a slice of the read buffer, not a copy.
    /// `maskOffset` is where the slice starts within the frame's payload, since masking is positional.
    case payload(ByteBuffer, maskOffset: Int, endsFrame: Bool)
}

/// The fields of a WebSocket frame header (RFC 6455 5.2).
struct IncomingFrameHeader: Equatable {
    var fin: Bool
    var rsv1: Bool
    var rsv2: Bool
    var rsv3: Bool
    var opcode: WebSocketOpcode
    var maskKey: WebSocketMaskingKey?
    var length: Int

    /// RFC 6455 5.5: control opcodes have the high bit of the opcode set.
    var isControl: Bool { UInt8(webSocketOpcode: opcode) & 0x8 != 0 }
}

/// Why the decoder stopped reading frames; the session closes with `closeCode`.
struct IncomingFrameError: Error, Equatable {
    var closeCode: WebSocketErrorCode
    var reason: String
}

/// Decodes client frames without gathering them: a data frame's payload is passed on slice by slice
/// as each socket read delivers it.
///
/// NIO's `WebSocketFrameDecoder` (a `ByteToMessageDecoder`) emits a frame only once all of it is in
/// one buffer, so every read after the first is copied onto the end of that buffer: for a 1080p
/// frame, 8 MB memmoved and then copied again when the session unmasks it into the message. Here the
/// session unmasks straight from the read buffers into the message, one copy instead of two, and the
/// read buffer is free for NIO to reuse at the next read. The handshake stays NIO's
/// (`NIOWebSocketServerUpgrader`), and so does everything the server sends (`WebSocketFrameEncoder`).
///
/// It applies the checks NIO's decoder applies (RFC 6455 5.2 and 5.5): control frames are not
/// fragmented and carry at most 125 bytes, lengths use at most 63 bits, and no frame is larger than
/// `maxFrameSize`. Masking, reserved bits and opcodes are the session's to judge.
final class IncrementalFrameDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IncomingFramePart

    private var parser: IncomingFrameParser
    /// After a protocol error the byte stream cannot be framed again; the rest is ignored.
    private var failed = false

    init(maxFrameSize: Int) {
        parser = IncomingFrameParser(maxFrameSize: maxFrameSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        do {
            try parser.parse(&buffer) { context.fireChannelRead(wrapInboundOut($0)) }
        } catch {
            failed = true
            context.fireErrorCaught(error)
        }
    }
}

/// The decoder's state machine, apart from any channel so that tests and the fuzzer drive it directly.
struct IncomingFrameParser {
    /// 2 bytes, a 64-bit length and a masking key.
    static let maxHeaderLength = 14

    let maxFrameSize: Int
    /// Header bytes of the next frame that arrived at the end of a read.
    private var partialHeader: [UInt8] = []
    /// The data frame whose payload is arriving, and how much of it has.
    private var dataFrame: (header: IncomingFrameHeader, received: Int)?
    /// The control frame whose payload is arriving.
    private var controlFrame: (header: IncomingFrameHeader, payload: ByteBuffer)?

    init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
        partialHeader.reserveCapacity(Self.maxHeaderLength)
    }

    /// Consumes all of `buffer`, handing each part to `emit` as soon as it is complete.
    ///
    /// - Throws: At the first header that breaks RFC 6455 framing; the parser must not be fed again.
    mutating func parse(
        _ buffer: inout ByteBuffer, emit: (IncomingFramePart) -> Void
    ) throws(IncomingFrameError) {
        while buffer.readableBytes > 0 {
            if let (header, received) = dataFrame {
                let count = min(header.length - received, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                let endsFrame = received + count == header.length
                dataFrame = endsFrame ? nil : (header, received + count)
                emit(.payload(slice, maskOffset: received, endsFrame: endsFrame))
            } else if let (header, received) = controlFrame {
                var payload = received
                var slice = buffer.readSlice(length: min(header.length - payload.readableBytes, buffer.readableBytes))!
                payload.writeBuffer(&slice)
                guard payload.readableBytes == header.length else {
                    controlFrame = (header, payload)
                    continue
                }
                controlFrame = nil
                emit(.control(WebSocketFrame(header, data: payload)))
            } else if let header = try readHeader(from: &buffer) {
                start(header, emit: emit)
            }
        }
    }

    private mutating func start(_ header: IncomingFrameHeader, emit: (IncomingFramePart) -> Void) {
        if header.isControl {
            guard header.length > 0 else {
                emit(.control(WebSocketFrame(header, data: ByteBuffer())))
                return
            }
            controlFrame = (header, ByteBuffer())
            return
        }
        emit(.dataFrame(header))
        if header.length == 0 {
            emit(.payload(ByteBuffer(), maskOffset: 0, endsFrame: true))
        } else {
            dataFrame = (header, 0)
        }
    }

    /// Reads the next frame header, keeping the bytes of one that is cut off by the end of the read.
    private mutating func readHeader(from buffer: inout ByteBuffer) throws(IncomingFrameError) -> IncomingFrameHeader? {
        let taken = min(Self.maxHeaderLength - partialHeader.count, buffer.readableBytes)
        let bytes = partialHeader + buffer.getBytes(at: buffer.readerIndex, length: taken)!
        guard let (header, headerLength) = try Self.parseHeader(bytes, maxFrameSize: maxFrameSize) else {
            partialHeader = bytes
            buffer.moveReaderIndex(forwardBy: taken)
            return nil
        }
        buffer.moveReaderIndex(forwardBy: headerLength - partialHeader.count)
        partialHeader.removeAll(keepingCapacity: true)
        return header
    }

    /// Parses a frame header from the start of `bytes`; `nil` when more bytes are needed.
    static func parseHeader(
        _ bytes: [UInt8], maxFrameSize: Int
    ) throws(IncomingFrameError) -> (header: IncomingFrameHeader, length: Int)? {
        guard bytes.count >= 2 else { return nil }
        let masked = bytes[1] & 0x80 != 0
        let lengthFieldBytes = switch bytes[1] & 0x7F {
        case 126: 2
        case 127: 8
        default: 0
        }
        let headerLength = 2 + lengthFieldBytes + (masked ? 4 : 0)
        guard bytes.count >= headerLength else { return nil }
        var length: UInt64 = lengthFieldBytes == 0 ? UInt64(bytes[1] & 0x7F) : 0
        for byte in bytes[2..<(2 + lengthFieldBytes)] { length = length << 8 | UInt64(byte) }
        guard length >> 63 == 0 else {
            throw IncomingFrameError(closeCode: .protocolError, reason: "frame length uses the 64th bit")
        }
        let header = IncomingFrameHeader(
            fin: bytes[0] & 0x80 != 0,
            rsv1: bytes[0] & 0x40 != 0,
            rsv2: bytes[0] & 0x20 != 0,
            rsv3: bytes[0] & 0x10 != 0,
            // Every 4-bit value is an opcode NIO can represent; reserved ones are the session's to refuse.
            opcode: WebSocketOpcode(encodedWebSocketOpcode: bytes[0] & 0x0F)!,
            maskKey: masked ? WebSocketMaskingKey(bytes[(headerLength - 4)..<headerLength]) : nil,
            length: Int(length)
        )
        if header.isControl {
            guard header.fin else {
                throw IncomingFrameError(closeCode: .protocolError, reason: "control frame is fragmented")
            }
            guard header.length <= 125 else {
                throw IncomingFrameError(closeCode: .protocolError, reason: "control frame longer than 125 bytes")
            }
        }
        guard header.length <= maxFrameSize else {
            throw IncomingFrameError(
                closeCode: .messageTooLarge, reason: "frame of \(header.length) bytes exceeds \(maxFrameSize)"
            )
        }
        return (header, headerLength)
    }
}

extension WebSocketFrame {
    fileprivate init(_ header: IncomingFrameHeader, data: ByteBuffer) {
        self.init(
            fin: header.fin, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3,
            opcode: header.opcode, maskKey: header.maskKey, data: data
        )
    }
}

extension WebSocketMaskingKey {
    /// The key as it applies from `offset` bytes into a payload: masking uses key byte `i % 4` for
    /// payload byte `i`, so a piece that starts mid-payload starts mid-key.
    func startingAt(offset: Int) -> WebSocketMaskingKey {
        let shift = offset & 3
        return WebSocketMaskingKey((0..<4).map { self[(shift + $0) & 3] })!
    }
}
