import CanvasWireCore
import CanvasWireWebSocket
import NIOCore

/// A binary message whose pieces are still arriving, checked piece by piece so that an oversized or
/// malformed message is refused before it is buffered.
struct MessageAssembly {
    enum Kind {
        /// A v1 frame from a publisher: the reader validates the header as soon as it is complete.
        case frame(FrameMessageReader)
        /// A raw RGBA message from a bare-mode publisher. The buffer starts with 32 reserved bytes for
        /// the header the server stamps, so the payload is never copied to make room for it.
        case bare(expected: Int)
        /// Any binary message on `/echo`, up to the payload limit.
        case echo(limit: Int)
    }

    private(set) var kind: Kind
    /// The message so far. Stored apart from `kind` so that appending mutates it in place.
    private(set) var buffer: ByteBuffer

    init(kind: Kind, buffer: ByteBuffer) {
        self.kind = kind
        self.buffer = buffer
    }

    /// Appends one piece, unmasking it as it is copied: one pass over the bytes instead of an unmasked
    /// copy followed by a second copy into the message.
    mutating func append(_ piece: MessagePiece) throws(FrameError) {
        switch kind {
        case .frame(var reader):
            let hadHeader = reader.parsedHeader != nil
            // Until the header is parsed, the reader sees the piece's first bytes unmasked; the rest is
            // unmasked once, on its way into the message buffer.
            var head = [UInt8](repeating: 0, count: min(reader.bytesNeededForHeader, piece.count))
            head.withUnsafeMutableBytes { piece.copyPrefix($0.count, into: $0) }
            _ = try head.withUnsafeBytes { [length = piece.count] head in
                Result { () throws(FrameError) in try reader.consume(prefix: head, fragmentLength: length) }
            }.get()
            kind = .frame(reader)
            // Once the header fixes the message length, allocate it in one piece.
            if !hadHeader, let total = reader.expectedMessageLength {
                buffer.reserveCapacity(total)
            }
        case .bare(let expected):
            let payload = buffer.readableBytes - FrameHeader.v1Length + piece.count
            guard payload <= expected else { throw .payloadSizeMismatch(expected: expected, actual: payload) }
        case .echo(let limit):
            let total = buffer.readableBytes + piece.count
            guard total <= limit else { throw .payloadTooLarge(bytes: total, limit: limit) }
        }
        piece.write(into: &buffer)
    }

    /// Writes the header the server stamps into the reserved start of a bare-mode message.
    mutating func stamp(_ header: FrameHeader) {
        header.withV1Bytes { _ = buffer.setBytes($0, at: buffer.readerIndex) }
    }
}

extension Optional where Wrapped == MessageAssembly {
    /// Appends `piece` to the message in progress and hands the message over once `piece` ends it.
    ///
    /// The message leaves `self` while it grows so that its buffer stays uniquely referenced: a copy
    /// left behind would make every append copy the whole message so far. After an error, or with no
    /// message in progress, nothing is kept and nothing is returned.
    mutating func append(_ piece: MessagePiece, endingMessage: Bool) throws(FrameError) -> MessageAssembly? {
        guard var assembly = take() else { return nil }
        try assembly.append(piece)
        guard endingMessage else {
            self = assembly
            return nil
        }
        return assembly
    }
}
