import CanvasWireCore
import NIOCore
import Synchronization

/// The most recently published ``SyntheticContent`` frames, shared by the publisher and every viewer
/// of a bench run, so that a frame is rendered once, into the message that carries it, rather than
/// again by each viewer that checks it.
///
/// A viewer checks a 1080p screen frame by comparing it with the expected one: rendering copies the
/// 8 MB desktop and draws the moving parts, comparing reads both frames. Profiled with 4 delta
/// viewers, unpaced (`perf record canvaswire bench --size 1920x1080 --content screen --encoding delta
/// --viewers 4`), rendering was 18 % of the bench's CPU time and comparing 19 %. Kept here as slices
/// of the published messages, the frames cost no copy either (their bytes are never changed: the
/// client masks a copy).
final class RenderedFrames: Sendable {
    /// Lossless viewers run a few frames behind the publisher (receive buffers, the server's
    /// high-water mark); one further behind renders its frame itself.
    private static let capacity = 8

    let content: SyntheticContent
    private let frames = Mutex<[(sequence: UInt64, pixels: ByteBuffer)]>([])

    init(content: SyntheticContent) {
        self.content = content
    }

    /// Renders frame `sequence` at the end of `buffer`.
    func render(_ sequence: UInt64, into buffer: inout ByteBuffer) {
        let count = content.size.rgbaByteCount
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            content.render(frame: Int(truncatingIfNeeded: sequence), into: UnsafeMutableRawBufferPointer(rebasing: destination[..<count]))
            return count
        }
    }

    /// Keeps a published frame's pixels for the viewers.
    func insert(_ pixels: ByteBuffer, sequence: UInt64) {
        frames.withLock { frames in
            frames.append((sequence, pixels))
            if frames.count > Self.capacity { frames.removeFirst() }
        }
    }

    /// Frame `sequence`'s pixels: the published ones, or rendered now for a viewer far behind.
    func pixels(of sequence: UInt64) -> ByteBuffer {
        if let pixels = frames.withLock({ $0.first { $0.sequence == sequence }?.pixels }) { return pixels }
        var pixels = ByteBufferAllocator().buffer(capacity: content.size.rgbaByteCount)
        render(sequence, into: &pixels)
        return pixels
    }
}
