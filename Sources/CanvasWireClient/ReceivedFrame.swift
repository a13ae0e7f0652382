public import CanvasWireCore
public import NIOCore

/// A validated whole frame: as it arrived, or rebuilt from a delta and the frame before it.
public struct ReceivedFrame: Sendable {
    /// The frame's header. Its pixel format is ``PixelFormat/rgba8`` or ``PixelFormat/png``, never a
    /// delta: a frame that arrived as one carries the delta's sequence number and capture time.
    public var header: FrameHeader
    /// The payload only (RGBA8 pixels or a PNG file). A frame that arrived whole is a slice of the
    /// received message; one rebuilt from a delta is a buffer of its own. Either way it never changes
    /// after it was handed on, however many frames follow.
    public var payload: ByteBuffer
    /// When the frame's last byte was read (wall clock, microseconds since the Unix epoch), like the
    /// browser's `MessageEvent.timeStamp`: compare with `header.captureTimeMicros` for its latency.
    public var receivedAtMicros: UInt64
    /// How the frame crossed the wire: ``PixelFormat/rgba8Delta`` when only its changed rectangles did
    /// (`encoding=delta`), otherwise the header's own format.
    public var wireFormat: PixelFormat
    /// Bytes of the message as it arrived, header included, before any delta was applied: what this
    /// frame cost the network, to compare encodings by. It is the WebSocket message's length, which is
    /// the compressed length wherever the connection compresses messages.
    public var wireBytes: Int
}
