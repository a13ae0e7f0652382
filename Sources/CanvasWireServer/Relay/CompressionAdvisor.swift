import CanvasWireWebSocket
import NIOCore
import Synchronization

/// Decides, for `serve --deflate auto`, which of a stream's messages are worth compressing.
///
/// zlib at level 1 runs fast exactly where it pays: on 1920x1080 screen content it compresses at
/// about 620 MB/s to 2% of the size (13 ms a frame), while camera-like content goes at 83 MB/s to 58%
/// (100 ms) and noise at 58 MB/s to 100% (143 ms) (Python's zlib, the same library, on synthetic
/// frames; docs/BENCHMARKS.md, permessage-deflate). So:
/// - a message up to 256 KiB (deltas, small frames) is compressed while the last one of its kind shrank
///   by at least a quarter: it costs at most a couple of milliseconds;
/// - a larger one only while its content compresses to a quarter or less, judged from a 64 KiB sample
///   out of its middle (0.1 to 1 ms) and then from the ratio the whole message gave: content that
///   compresses that well is the content zlib compresses fast.
/// After a verdict, it stands for the next 31 messages of its kind, so a stream whose content changes
/// is noticed within a second at 30 fps, and noise costs one sample a second, not a compression a frame.
final class CompressionAdvisor: Sendable {
    static let smallMessageBytes = 256 << 10
    static let smallWorthwhileRatio = 0.75
    static let largeWorthwhileRatio = 0.25
    static let sampleBytes = 64 << 10
    static let verdictLasts = 32

    private struct Verdict {
        var compress: Bool
        var messagesSince = 0
    }

    /// Kept apart for deltas and full frames, and small and large messages: they compress differently.
    private struct Kind: Hashable {
        var isDelta: Bool
        var isLarge: Bool
    }

    private let mode: DeflateMode
    private let verdicts = Mutex<[Kind: Verdict]>([:])

    init(mode: DeflateMode) {
        self.mode = mode
    }

    /// Whether to compress `message` with a `windowBits` window; `isDelta` tells deltas from full frames.
    func shouldCompress(_ message: ByteBuffer, isDelta: Bool, windowBits: Int, deflaters: DeflaterPool) -> Bool {
        switch mode {
        case .off: return false
        case .on: return true
        case .auto: break
        }
        let kind = Kind(isDelta: isDelta, isLarge: message.readableBytes > Self.smallMessageBytes)
        let standing: Bool? = verdicts.withLock { verdicts in
            guard var verdict = verdicts[kind], verdict.messagesSince < Self.verdictLasts - 1 else { return nil }
            verdict.messagesSince += 1
            verdicts[kind] = verdict
            return verdict.compress
        }
        if let standing { return standing }
        guard kind.isLarge else { return true }  // the compression itself gives the verdict (record)
        let start = message.readerIndex + (message.readableBytes - Self.sampleBytes) / 2
        let sample = message.getSlice(at: start, length: Self.sampleBytes)!
        let compressed = deflaters.withDeflater(windowBits: windowBits) { try? $0.compress(sample, allocator: ByteBufferAllocator()) }
        let compress = (compressed ?? nil).map { Double($0.readableBytes) <= Double(Self.sampleBytes) * Self.largeWorthwhileRatio } ?? false
        verdicts.withLock { $0[kind] = Verdict(compress: compress) }
        return compress
    }

    /// Records what compressing a message gave; the verdict for its kind follows.
    func record(originalBytes: Int, compressedBytes: Int, isDelta: Bool) {
        let isLarge = originalBytes > Self.smallMessageBytes
        let threshold = isLarge ? Self.largeWorthwhileRatio : Self.smallWorthwhileRatio
        let compress = Double(compressedBytes) <= Double(originalBytes) * threshold
        verdicts.withLock { $0[Kind(isDelta: isDelta, isLarge: isLarge)] = Verdict(compress: compress) }
    }
}
