import CompressNIO
package import NIOCore

/// Compresses whole messages for permessage-deflate, each on its own (no context takeover): the
/// output depends on the message alone, so one compressed copy can go to every peer that agreed to
/// the same window.
///
/// Not thread-safe: used by one thread at a time (the `Sendable` conformance lets a pool hand it from
/// one event loop to another, never to two at once). The zlib state (about 256 KiB with a
/// 15-bit window) is made once and reset between messages.
package final class MessageDeflater: @unchecked Sendable {
    /// zlib's fastest level. Frames are large and mostly incompressible or very compressible; higher
    /// levels cost several times the CPU for a few percent (see docs/BENCHMARKS.md, permessage-deflate).
    package static let defaultLevel: Int32 = 1

    package let windowBits: Int
    private let compressor: ZlibCompressor

    /// - Parameter windowBits: 9 to 15 (zlib cannot write raw deflate with 8).
    package init(windowBits: Int, level: Int32 = MessageDeflater.defaultLevel) throws {
        precondition((9...15).contains(windowBits), "raw deflate windows are 9 to 15 bits")
        self.windowBits = windowBits
        self.compressor = try ZlibCompressor(
            algorithm: .deflate,
            configuration: ZlibConfiguration(windowSize: Int32(windowBits), compressionLevel: level, memoryLevel: 8, strategy: .default)
        )
    }

    /// The message compressed as RFC 7692 7.2.1 says: deflate with a sync flush, and the empty stored
    /// block the flush ends with (`00 00 ff ff`) taken off again.
    package func compress(_ message: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = message
        var output = allocator.buffer(capacity: compressor.maxSize(from: input))
        defer { try? compressor.reset() }
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        precondition(input.readableBytes == 0 && output.readableBytes >= 4, "deflate left input behind")
        output.moveWriterIndex(to: output.writerIndex - 4)
        return output
    }
}
