import CompressNIO
package import NIOCore

/// Inflates permessage-deflate messages piece by piece, handing the output on in bounded chunks so a
/// receiver can refuse a message the moment it exceeds its limits: a deflate bomb never costs more
/// than the limit plus one chunk.
///
/// The zlib state (about 40 KiB) exists only while a message is being inflated when the peer resets
/// its context after every message, which CanvasWire asks of every client; otherwise it lives as
/// long as the connection. Not thread-safe: confined to the connection's event loop.
package final class MessageInflater {
    /// Output is handed on in chunks of this size: large enough that per-chunk costs vanish next to
    /// the copying, small enough that a refused bomb has allocated little.
    package static let chunkSize = 256 << 10

    package struct Failure: Error, Equatable {
        package var reason: String
    }

    private let resetsAfterEachMessage: Bool
    private var decompressor: ZlibDecompressor?
    private let allocator: ByteBufferAllocator

    /// - Parameter resetsAfterEachMessage: Whether the peer starts every message with an empty window
    ///   (it agreed to no context takeover).
    package init(resetsAfterEachMessage: Bool, allocator: ByteBufferAllocator) {
        self.resetsAfterEachMessage = resetsAfterEachMessage
        self.allocator = allocator
    }

    /// Inflates the next piece of a compressed message, calling `emit` with each chunk of output; when
    /// `emit` returns `false` inflating stops at once.
    ///
    /// - Throws: ``Failure`` when the data is not valid deflate.
    package func inflate(_ compressed: ByteBuffer, endsMessage: Bool, emit: (ByteBuffer) -> Bool) throws(Failure) {
        let decompressor: ZlibDecompressor
        do {
            decompressor = try self.decompressor ?? ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        } catch {
            throw Failure(reason: "cannot start inflating: \(error)")
        }
        self.decompressor = decompressor
        var input = compressed
        guard !streamEnded else { return finishMessage(endsMessage, decompressor) }
        guard try run(decompressor, &input, emit: emit) else { return }
        guard endsMessage else { return }
        if !streamEnded {
            // RFC 7692 7.2.2: the sender took the sync flush's empty stored block off; put it back.
            var tail = allocator.buffer(bytes: [0x00, 0x00, 0xFF, 0xFF])
            guard try run(decompressor, &tail, emit: emit) else { return }
        }
        finishMessage(true, decompressor)
    }

    /// Whether the current message's zlib stream ended in a final block (BFINAL, RFC 7692 7.2.3.5):
    /// whatever the message still carries after it (its padding) is not inflated.
    private var streamEnded = false

    private func finishMessage(_ endsMessage: Bool, _ decompressor: ZlibDecompressor) {
        guard endsMessage else { return }
        if resetsAfterEachMessage {
            self.decompressor = nil
        } else if streamEnded {
            try? decompressor.reset()  // the next message starts a new stream
        }
        streamEnded = false
    }

    /// Feeds `input` until it is used up or the stream ends; returns `false` once `emit` asked to stop.
    private func run(_ decompressor: ZlibDecompressor, _ input: inout ByteBuffer, emit: (ByteBuffer) -> Bool) throws(Failure) -> Bool {
        while true {
            var output = allocator.buffer(capacity: Self.chunkSize)
            var outputFull = false
            var needsInput = false
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                outputFull = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                needsInput = true
            } catch {
                throw Failure(reason: "compressed message is not valid deflate data (\(error))")
            }
            if output.readableBytes > 0, !emit(output) { return false }
            if outputFull { continue }
            // A normal return with input left means zlib reported the end of the stream.
            if !needsInput, input.readableBytes > 0 { streamEnded = true }
            return true
        }
    }
}
