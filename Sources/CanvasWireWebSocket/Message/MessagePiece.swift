package import NIOCore
package import NIOWebSocket

/// A piece of a data message's payload as it came off the socket: a slice of the read buffer, still
/// masked when a client sent it.
///
/// Receivers copy it once, unmasking on the way, straight into their message (``write(into:)``), or
/// use it as it is when it is unmasked and already the whole message (``unmaskedBytes``).
package struct MessagePiece {
    package var bytes: ByteBuffer
    /// The mask as it applies to this piece's first byte; `nil` for frames from a server.
    package var maskKey: WebSocketMaskingKey?

    package init(bytes: ByteBuffer, maskKey: WebSocketMaskingKey?) {
        self.bytes = bytes
        self.maskKey = maskKey
    }

    package var count: Int { bytes.readableBytes }

    /// The payload bytes, unmasked: the slice itself when the piece is not masked, a copy otherwise.
    package var unmaskedBytes: ByteBuffer {
        guard maskKey != nil else { return bytes }
        var copy = ByteBufferAllocator().buffer(capacity: count)
        write(into: &copy)
        return copy
    }

    /// Appends the unmasked bytes to `buffer`: one pass over them, whether or not they are masked.
    package func write(into buffer: inout ByteBuffer) {
        guard let maskKey else {
            buffer.writeImmutableBuffer(bytes)
            return
        }
        let count = self.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            bytes.withUnsafeReadableBytes { source in
                WebSocketMasking.copy(from: source, to: destination, key: (maskKey[0], maskKey[1], maskKey[2], maskKey[3]))
            }
            return count
        }
    }

    /// Copies the first `count` unmasked bytes into `destination`, for readers that look at a header
    /// before the rest of the piece is stored.
    package func copyPrefix(_ count: Int, into destination: UnsafeMutableRawBufferPointer) {
        precondition(count <= self.count && count <= destination.count, "prefix longer than the piece")
        bytes.withUnsafeReadableBytes { source in
            let prefix = UnsafeRawBufferPointer(rebasing: source.prefix(count))
            if let maskKey {
                WebSocketMasking.copy(from: prefix, to: destination, key: (maskKey[0], maskKey[1], maskKey[2], maskKey[3]))
            } else {
                destination.copyMemory(from: prefix)
            }
        }
    }
}
