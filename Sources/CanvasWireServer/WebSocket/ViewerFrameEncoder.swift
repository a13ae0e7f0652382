import CanvasWireCore
import CanvasWireWebSocket
import CoreMetrics
import NIOCore

/// Chooses, for one viewer, what each frame goes out as: the frame whole, a delta from the frame the
/// viewer holds, and compressed or not. Every variant comes from the frame's ``FrameVariants``, so a
/// variant that several viewers need is made once.
///
/// A delta viewer in step with the stream gets the delta from the previous frame, which every such
/// viewer shares; one that skipped frames (a `latest` viewer that was behind) gets one delta holding
/// every tile changed since the frame it holds, with the newest pixels. It gets the frame whole first,
/// after a size change or a PNG frame, and whenever a delta would not be smaller.
struct ViewerFrameEncoder {
    /// What goes on the wire for a frame.
    struct Message {
        var bytes: ByteBuffer
        var compressed: Bool
    }

    let encoding: ViewerEncoding
    /// The window to compress with; `nil` when the viewer did not agree to permessage-deflate.
    let compressionWindowBits: Int?
    /// The frame the viewer holds, as a position in its stream, when it can apply a delta to it.
    private var held: (index: UInt64, size: FrameSize)?

    init(encoding: ViewerEncoding, compressionWindowBits: Int?) {
        self.encoding = encoding
        self.compressionWindowBits = compressionWindowBits
    }

    mutating func message(
        for frame: Frame, stream: RelayStream, deflaters: DeflaterPool,
        allocator: ByteBufferAllocator
    ) -> Message {
        let place = frame.place
        var kind = FrameVariants.Kind.full
        if encoding == .delta, let grid = place.grid {
            if let held, held.size == frame.header.size, held.index < place.index {
                kind = held.index + 1 == place.index ? .delta : .catchUp(from: held.index)
            }
            held = (place.index, frame.header.size)
            if kind != .full {
                let delta = frame.variants.message(.init(kind: kind)) {
                    Self.delta(kind, of: frame, grid: grid, place: place, stream: stream, allocator: allocator)
                }
                if let delta { return compressedIfWorthIt(delta, kind: kind, frame: frame, stream: stream, deflaters, allocator) }
                kind = .full
            }
        } else {
            held = nil
        }
        return compressedIfWorthIt(frame.message, kind: kind, frame: frame, stream: stream, deflaters, allocator)
    }

    private func compressedIfWorthIt(
        _ message: ByteBuffer, kind: FrameVariants.Kind, frame: Frame, stream: RelayStream,
        _ deflaters: DeflaterPool, _ allocator: ByteBufferAllocator
    ) -> Message {
        let isDelta = kind != .full
        let advisor = stream.compression
        // Asked once per frame and variant, by the viewer that makes it; the others share its answer
        // (a compressed copy, or `nil` for not worth it), so a verdict lasts its 32 frames whatever the
        // number of viewers and viewers of one frame never disagree.
        guard let windowBits = compressionWindowBits,
            let compressed = frame.variants.message(.init(kind: kind, windowBits: windowBits), make: {
                guard advisor.shouldCompress(message, isDelta: isDelta, windowBits: windowBits, deflaters: deflaters) else { return nil }
                let compressed = deflaters.withDeflater(windowBits: windowBits) { try? $0.compress(message, allocator: allocator) }
                guard let compressed = compressed ?? nil else { return nil }
                stream.metrics.messagesCompressed.increment()
                advisor.record(originalBytes: message.readableBytes, compressedBytes: compressed.readableBytes, isDelta: isDelta)
                // Sent compressed only where it is smaller: RFC 7692 lets any message go uncompressed.
                return compressed.readableBytes < message.readableBytes ? compressed : nil
            })
        else { return Message(bytes: message, compressed: false) }
        return Message(bytes: compressed, compressed: true)
    }

    /// The delta message `kind` names, or `nil` when its changes are not known or it would not be
    /// smaller than the frame whole.
    private static func delta(
        _ kind: FrameVariants.Kind, of frame: Frame, grid: TileGrid, place: FrameVariants.Place, stream: RelayStream,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer? {
        let tiles: TileSet?
        switch kind {
        case .full: return nil
        case .delta: tiles = place.changedTiles
        case .catchUp(let base): tiles = stream.changedTiles(after: base, through: place.index)
        }
        guard let tiles, let layout = try? DeltaLayout(tiles: tiles, grid: grid),
            FrameHeader.v1Length + layout.encodedLength < frame.message.readableBytes
        else { return nil }
        var header = frame.header
        header.pixelFormat = .rgba8Delta
        header.headerLength = FrameHeader.v1Length
        var message = allocator.buffer(capacity: FrameHeader.v1Length + layout.encodedLength)
        header.withV1Bytes { _ = message.writeBytes($0) }
        message.writeWithUnsafeMutableBytes(minimumWritableBytes: layout.encodedLength) { destination in
            frame.payload.withUnsafeReadableBytes { pixels in layout.write(from: pixels, into: destination) }
            return layout.encodedLength
        }
        return message
    }
}

extension FrameVariants.Key {
    init(kind: FrameVariants.Kind) {
        self.init(kind: kind, windowBits: nil)
    }
}
