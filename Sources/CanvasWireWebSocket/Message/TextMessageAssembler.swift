package import NIOCore

/// A text message being received: bytes gathered up to a limit and checked as UTF-8 piece by piece,
/// so an invalid or oversized message is refused at its first bad byte, not after it is all buffered.
package struct TextMessageAssembler {
    package struct Refusal: Error, Equatable {
        package var code: UInt16
        package var reason: String
    }

    private var buffer: ByteBuffer
    private var validator = UTF8Validator()
    private let limit: Int

    /// - Parameters:
    ///   - limit: The largest message accepted, in bytes.
    ///   - expectedLength: The first frame's length when it is the whole message: allocated at once.
    package init(limit: Int, expectedLength: Int?, allocator: ByteBufferAllocator) {
        self.limit = limit
        self.buffer = allocator.buffer(capacity: min(limit, expectedLength ?? 256))
    }

    /// Adds a piece.
    ///
    /// - Throws: ``Refusal`` 1009 past the limit, 1007 at the first byte that cannot be UTF-8.
    package mutating func append(_ piece: MessagePiece) throws(Refusal) {
        guard buffer.readableBytes + piece.count <= limit else {
            throw Refusal(code: 1009, reason: "text message larger than \(limit) bytes")
        }
        let start = buffer.writerIndex
        piece.write(into: &buffer)
        let valid = buffer.withUnsafeReadableBytes { bytes in
            validator.consume(UnsafeRawBufferPointer(rebasing: bytes[(start - buffer.readerIndex)...]))
        }
        guard valid else { throw Refusal(code: 1007, reason: "text message is not valid UTF-8") }
    }

    /// The complete message.
    ///
    /// - Throws: ``Refusal`` 1007 when the message ends inside a character.
    package func finish() throws(Refusal) -> ByteBuffer {
        guard validator.isComplete else { throw Refusal(code: 1007, reason: "text message is not valid UTF-8") }
        return buffer
    }
}
