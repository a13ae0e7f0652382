import CanvasWireCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The frames of one bench run: the publisher writes frame `n` from `n` alone, and each viewer
/// rebuilds what frame `n` must be and compares every byte it got, whole or rebuilt from deltas.
enum BenchFrames: Sendable {
    case generated(BenchPayload)
    case synthetic(RenderedFrames)

    /// Appends frame `sequence`'s RGBA8 pixels, `size.rgbaByteCount` bytes, to `buffer`.
    func write(sequence: UInt64, size: FrameSize, into buffer: inout ByteBuffer) {
        switch self {
        case .generated(let payload): payload.write(sequence: sequence, count: size.rgbaByteCount, into: &buffer)
        case .synthetic(let frames): frames.render(sequence, into: &buffer)
        }
    }

    /// Keeps what was published as frame `sequence`, for the viewers to compare with: a slice of its
    /// message, which must not change afterwards.
    func published(_ pixels: ByteBuffer, sequence: UInt64) {
        if case .synthetic(let frames) = self { frames.insert(pixels, sequence: sequence) }
    }

    /// Whether `payload` is exactly frame `sequence`.
    func verify(_ payload: ByteBuffer, sequence: UInt64) -> Bool {
        switch self {
        case .generated(let expected):
            return expected.verify(payload, sequence: sequence)
        case .synthetic(let frames):
            let expected = frames.pixels(of: sequence)
            guard payload.readableBytes == expected.readableBytes else { return false }
            return expected.withUnsafeReadableBytes { expected in
                payload.withUnsafeReadableBytes { memcmp($0.baseAddress!, expected.baseAddress!, expected.count) == 0 }
            }
        }
    }
}
