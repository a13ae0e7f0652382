import CanvasWireCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The frames of one bench run: the publisher writes frame `n` from `n` alone, and each viewer
/// rebuilds what frame `n` must be and compares every byte it got, whole or rebuilt from deltas.
enum BenchFrames: Sendable {
    case generated(BenchPayload)
    case synthetic(SyntheticContent)

    /// Appends frame `sequence`'s RGBA8 pixels, `size.rgbaByteCount` bytes, to `buffer`.
    func write(sequence: UInt64, size: FrameSize, into buffer: inout ByteBuffer) {
        switch self {
        case .generated(let payload):
            payload.write(sequence: sequence, count: size.rgbaByteCount, into: &buffer)
        case .synthetic(let content):
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size.rgbaByteCount) { destination in
                content.render(frame: Int(truncatingIfNeeded: sequence), into: UnsafeMutableRawBufferPointer(rebasing: destination[..<size.rgbaByteCount]))
                return size.rgbaByteCount
            }
        }
    }

    /// Whether `payload` is exactly frame `sequence`.
    ///
    /// - Parameter scratch: Where synthetic frames are rendered to compare with; one per viewer,
    ///   reused from frame to frame.
    func verify(_ payload: ByteBuffer, sequence: UInt64, scratch: inout [UInt8]) -> Bool {
        switch self {
        case .generated(let expected):
            return expected.verify(payload, sequence: sequence)
        case .synthetic(let content):
            guard payload.readableBytes == content.size.rgbaByteCount else { return false }
            if scratch.count != payload.readableBytes { scratch = [UInt8](repeating: 0, count: payload.readableBytes) }
            return scratch.withUnsafeMutableBytes { expected in
                content.render(frame: Int(truncatingIfNeeded: sequence), into: expected)
                return payload.withUnsafeReadableBytes { memcmp($0.baseAddress!, expected.baseAddress!, expected.count) == 0 }
            }
        }
    }
}
