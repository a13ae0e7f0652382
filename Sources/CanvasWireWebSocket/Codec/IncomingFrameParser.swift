package import NIOCore
import NIOWebSocket

/// The decoder's state machine, apart from any channel so that tests and the fuzzer drive it directly.
package struct IncomingFrameParser {
    /// 2 bytes, a 64-bit length and a masking key.
    static let maxHeaderLength = 14

    package let maxFrameSize: Int
    /// Header bytes of the next frame that arrived at the end of a read.
    private var partialHeader: [UInt8] = []
    /// The data frame whose payload is arriving, and how much of it has.
    private var dataFrame: (header: IncomingFrameHeader, received: Int)?
    /// The control frame whose payload is arriving.
    private var controlFrame: (header: IncomingFrameHeader, payload: ByteBuffer)?

    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
        partialHeader.reserveCapacity(Self.maxHeaderLength)
    }

    /// Consumes all of `buffer`, handing each part to `emit` as soon as it is complete.
    ///
    /// - Throws: At the first header that breaks RFC 6455 framing; the parser must not be fed again.
    package mutating func parse(
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
