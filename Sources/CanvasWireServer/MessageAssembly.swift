import CanvasWireCore
import NIOCore
import NIOWebSocket

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
    /// WebSocket frames received for this message so far (see `WebSocketSession.maxFragmentsPerMessage`).
    var fragments = 0

    init(kind: Kind, buffer: ByteBuffer) {
        self.kind = kind
        self.buffer = buffer
    }

    /// Appends one fragment's payload, unmasking it with `maskKey` as it is copied: one pass over the
    /// bytes instead of an unmasked copy followed by a second copy into the message.
    mutating func append(_ data: ByteBuffer, maskKey: WebSocketMaskingKey?, limits: FrameLimits) throws(FrameError) {
        switch kind {
        case .frame(var reader):
            let hadHeader = reader.parsedHeader != nil
            // Until the header is parsed, the reader sees its first bytes unmasked; the rest of the
            // fragment is unmasked once, on its way into the message buffer.
            var head = [UInt8](repeating: 0, count: min(reader.bytesNeededForHeader, data.readableBytes))
            head.withUnsafeMutableBytes { head in
                data.withUnsafeReadableBytes { source in
                    let prefix = UnsafeRawBufferPointer(rebasing: source.prefix(head.count))
                    if let maskKey {
                        WebSocketMasking.copy(from: prefix, to: head, key: (maskKey[0], maskKey[1], maskKey[2], maskKey[3]))
                    } else {
                        head.copyMemory(from: prefix)
                    }
                }
            }
            _ = try head.withUnsafeBytes { [length = data.readableBytes] head in
                Result { () throws(FrameError) in try reader.consume(prefix: head, fragmentLength: length) }
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
        guard let maskKey else {
            buffer.writeImmutableBuffer(data)
            return
        }
        let count = data.readableBytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            data.withUnsafeReadableBytes { source in
                WebSocketMasking.copy(from: source, to: destination, key: (maskKey[0], maskKey[1], maskKey[2], maskKey[3]))
            }
            return count
        }
    }

    /// Writes the header the server stamps into the reserved start of a bare-mode message.
    mutating func stamp(_ header: FrameHeader) {
        header.withV1Bytes { _ = buffer.setBytes($0, at: buffer.readerIndex) }
    }
}
