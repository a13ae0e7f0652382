import CanvasWireCore
import NIOCore

/// Turns a viewer connection's binary messages into whole frames, so that an application gets full
/// RGBA8 (or PNG) frames whether the server sends every frame whole or only what changed.
///
/// It holds the last RGBA8 frame it handed on. A delta (pixel format 3) is checked with a
/// ``DeltaDecoder`` and applied to that frame, which gives the next one. The held frame is the same
/// `ByteBuffer` the consumer got, so applying a delta copies it while the consumer still holds it
/// (copy-on-write) and writes in place once the consumer has let go: a buffer handed on never changes,
/// and a consumer that keeps no frames pays for the changed pixels only.
struct FrameReconstructor {
    private let limits: FrameLimits
    /// The last RGBA8 frame handed on: what the next delta applies to.
    private var held: (size: FrameSize, pixels: ByteBuffer)?
    /// Kept from delta to delta for its coverage bitmap, while the frame size stays the same.
    private var decoder: DeltaDecoder?

    /// - Parameter limits: The server's announced limits; every frame is checked against them.
    init(limits: FrameLimits) {
        self.limits = limits
    }

    /// Validates one binary message and returns the whole frame it gives.
    ///
    /// - Parameters:
    ///   - message: A complete binary message: a v1 header and its payload.
    ///   - receivedAtMicros: When its last byte was read.
    ///   - wireBytes: What it cost on the wire (``ReceivedFrame/wireBytes``).
    /// - Throws: ``FrameError`` for a message that breaks the v1 rules or the limits, a delta that does
    ///   not validate, or a delta with no held RGBA8 frame of its size to apply to. Nothing changes then.
    mutating func frame(from message: ByteBuffer, receivedAtMicros: UInt64, wireBytes: Int) throws(FrameError) -> ReceivedFrame {
        let (header, payloadLength) = try message.withUnsafeReadableBytes { raw in
            Result { () throws(FrameError) in try FrameHeader.split(raw, limits: limits) }
        }.get()
        let payload = message.getSlice(at: message.readerIndex + header.headerLength, length: payloadLength)!
        var frame = ReceivedFrame(
            header: header, payload: payload, receivedAtMicros: receivedAtMicros, wireFormat: header.pixelFormat, wireBytes: wireBytes
        )
        switch header.pixelFormat {
        case .rgba8:
            held = (header.size, payload)
        case .png:
            // Deltas apply to RGBA8 frames only; the server sends a whole one after a PNG.
            held = nil
        case .rgba8Delta:
            frame.header = FrameHeader(
                pixelFormat: .rgba8, width: header.width, height: header.height,
                sequence: header.sequence, captureTimeMicros: header.captureTimeMicros
            )
            frame.payload = try apply(payload, size: header.size)
        }
        return frame
    }

    /// Applies a delta payload to the held frame and returns the new frame, which is then held.
    private mutating func apply(_ delta: ByteBuffer, size: FrameSize) throws(FrameError) -> ByteBuffer {
        guard held?.size == size else { throw .deltaWithoutBase(size) }
        // Taken out while it works, so that its bitmap is not copied when it is marked.
        var decoder: DeltaDecoder
        if let kept = self.decoder.take(), kept.frameSize == size {
            decoder = kept
        } else {
            decoder = try DeltaDecoder(frameSize: size, limits: limits)
        }
        defer { self.decoder = decoder }
        _ = try delta.withUnsafeReadableBytes { raw in
            Result { () throws(FrameError) in try decoder.validate(raw) }
        }.get()
        // Taken out of `held`, so that the consumer's copy is the only other reference to the pixels.
        var pixels = held.take()!.pixels
        delta.withUnsafeReadableBytes { raw in
            pixels.withUnsafeMutableReadableBytes { decoder.apply(raw, to: $0) }
        }
        held = (size, pixels)
        return pixels
    }
}
