public import CanvasWireCore
public import NIOCore

/// One complete frame as it travels through the relay: its parsed header, the exact wire message,
/// and the variants other viewers need of it (deltas, compressed copies), each made once.
///
/// `message` holds the v1 header and payload contiguously, so fanning it out to N viewers writes the
/// same storage N times: `ByteBuffer` is reference-counted and nothing is copied per viewer. The same
/// goes for every variant: a delta or a compressed copy is made by the first viewer that needs it and
/// shared by every other.
public struct Frame: Sendable {
    public var header: FrameHeader
    /// The complete binary WebSocket message: header then payload.
    public var message: ByteBuffer
    let variants: FrameVariants
    /// Where the frame stands in its stream, set once when the stream publishes it. A plain field, not
    /// state of ``variants``: every viewer reads it for every frame, and behind the variants' lock it
    /// made a raw viewer wait while another viewer's loop compressed the frame (13 ms a 1080p screen
    /// frame).
    var place = FrameVariants.Place(index: 0)

    public init(header: FrameHeader, message: ByteBuffer) {
        self.header = header
        self.message = message
        self.variants = FrameVariants()
    }

    /// A frame from a complete message checked as a publisher's would be (header, limits, length):
    /// what a cluster node receives from another.
    init(validating message: ByteBuffer, limits: FrameLimits) throws(FrameError) {
        let header = try message.withUnsafeReadableBytes { bytes throws(FrameError) in
            try FrameHeader.split(bytes, limits: limits).header
        }
        self.init(header: header, message: message)
    }

    /// The payload without the header (a slice of ``message``, no copy).
    public var payload: ByteBuffer { header.payload(of: message) }
}

extension FrameHeader {
    /// The payload of `message`, the frame message this header was read from (a slice, no copy).
    func payload(of message: ByteBuffer) -> ByteBuffer {
        message.getSlice(at: message.readerIndex + headerLength, length: message.readableBytes - headerLength)!
    }
}
