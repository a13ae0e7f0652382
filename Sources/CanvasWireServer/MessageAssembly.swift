import CanvasWireCore
import NIOCore

/// A WebSocket message whose fragments are still arriving, checked fragment by fragment so that an
/// oversized or malformed message is refused before it is buffered.
struct MessageAssembly {
    enum Kind {
        /// A v1 frame from a publisher: the reader validates the header as soon as it is complete.
        case frame(FrameMessageReader)
        /// A raw RGBA message from a bare-mode publisher. The buffer starts with 32 reserved bytes for
        /// the header the server stamps, so the payload is never copied to make room for it.
        case bare(expected: Int)
        /// Any binary message on `/echo`.
        case echo
        case text
    }

    private(set) var kind: Kind
    /// The message so far. Stored apart from `kind` so that appending mutates it in place.
    private(set) var buffer: ByteBuffer

    init(kind: Kind, buffer: ByteBuffer) {
        self.kind = kind
        self.buffer = buffer
    }

    /// Appends one fragment's (unmasked) payload.
    mutating func append(_ data: inout ByteBuffer, limits: FrameLimits) throws(FrameError) {
        switch kind {
        case .frame(var reader):
            let hadHeader = reader.parsedHeader != nil
            _ = try data.withUnsafeReadableBytes { bytes in
                Result { () throws(FrameError) in try reader.consume(bytes) }
            }.get()
            kind = .frame(reader)
            // Once the header fixes the message length, allocate it in one piece.
            if !hadHeader, let total = reader.expectedMessageLength {
                buffer.reserveCapacity(total)
            }
        case .bare(let expected):
            let payload = buffer.readableBytes - FrameHeader.v1Length + data.readableBytes
            guard payload <= expected else { throw .payloadSizeMismatch(expected: expected, actual: payload) }
        case .echo:
            let total = buffer.readableBytes + data.readableBytes
            guard total <= limits.maxPayloadBytes else {
                throw .payloadTooLarge(bytes: total, limit: limits.maxPayloadBytes)
            }
        case .text:
            let total = buffer.readableBytes + data.readableBytes
            guard total <= WebSocketSession.maxTextMessageBytes else {
                throw .payloadTooLarge(bytes: total, limit: WebSocketSession.maxTextMessageBytes)
            }
        }
        buffer.writeBuffer(&data)
    }

    /// Writes the header the server stamps into the reserved start of a bare-mode message.
    mutating func stamp(_ header: FrameHeader) {
        header.withV1Bytes { _ = buffer.setBytes($0, at: buffer.readerIndex) }
    }
}
