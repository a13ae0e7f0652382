/// A frame, a frame header or a control message that breaks `docs/PROTOCOL.md` or the reader's limits.
///
/// Each error says in plain words which field is wrong and why, and carries the RFC 6455 close code a
/// WebSocket endpoint should answer it with.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case truncatedHeader(available: Int, needed: Int)
        case badMagic([UInt8])
        case reservedPixelFormat(UInt8)
        case reservedFlags(UInt8)
        case headerLengthTooSmall(Int)
        case zeroDimension(String)
        case dimensionTooLarge(String, value: Int, limit: Int)
        case payloadTooLarge(bytes: Int, limit: Int)
        case payloadSizeMismatch(expected: Int, actual: Int)
        case emptyPayload
        case invalidControlMessage(String)
        case deltaFrameTooLarge(width: Int, height: Int)
        case deltaCountTruncated(available: Int)
        case deltaCountExceedsBytes(count: Int, payloadBytes: Int)
        case deltaRectangleTruncated(index: Int, needed: Int, available: Int)
        case deltaRectangleEmpty(index: Int, width: Int, height: Int)
        case deltaRectangleOutOfBounds(index: Int, axis: DeltaAxis, origin: Int, extent: Int, frameExtent: Int)
        case deltaRectangleOverlap(index: Int, rectangle: DeltaRectangle, pixelX: Int, pixelY: Int)
        case deltaTrailingBytes(count: Int, rectangles: Int)
        case deltaWithoutBase(width: Int, height: Int)
    }

    /// Which side of the frame a delta rectangle passes.
    enum DeltaAxis: Hashable, Sendable {
        case horizontal, vertical
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func truncatedHeader(available: Int, needed: Int) -> Self {
        .init(.truncatedHeader(available: available, needed: needed))
    }
    static func badMagic(_ bytes: [UInt8]) -> Self { .init(.badMagic(bytes)) }
    /// A pixel format the reader does not take (close code 1003).
    public static func reservedPixelFormat(_ value: UInt8) -> Self { .init(.reservedPixelFormat(value)) }
    static func reservedFlags(_ value: UInt8) -> Self { .init(.reservedFlags(value)) }
    static func headerLengthTooSmall(_ value: Int) -> Self { .init(.headerLengthTooSmall(value)) }
    static func zeroDimension(_ field: String) -> Self { .init(.zeroDimension(field)) }
    static func dimensionTooLarge(_ field: String, value: Int, limit: Int) -> Self {
        .init(.dimensionTooLarge(field, value: value, limit: limit))
    }
    /// A payload (or a declared image) larger than the reader accepts.
    public static func payloadTooLarge(bytes: Int, limit: Int) -> Self {
        .init(.payloadTooLarge(bytes: bytes, limit: limit))
    }
    /// A payload whose length differs from what its header promises.
    public static func payloadSizeMismatch(expected: Int, actual: Int) -> Self {
        .init(.payloadSizeMismatch(expected: expected, actual: actual))
    }
    static let emptyPayload = Self(.emptyPayload)
    /// A text message that is not a control message this protocol defines.
    public static func invalidControlMessage(_ reason: String) -> Self { .init(.invalidControlMessage(reason)) }
    static func deltaFrameTooLarge(width: Int, height: Int) -> Self {
        .init(.deltaFrameTooLarge(width: width, height: height))
    }
    static func deltaCountTruncated(available: Int) -> Self { .init(.deltaCountTruncated(available: available)) }
    static func deltaCountExceedsBytes(count: Int, payloadBytes: Int) -> Self {
        .init(.deltaCountExceedsBytes(count: count, payloadBytes: payloadBytes))
    }
    static func deltaRectangleTruncated(index: Int, needed: Int, available: Int) -> Self {
        .init(.deltaRectangleTruncated(index: index, needed: needed, available: available))
    }
    static func deltaRectangleEmpty(index: Int, width: Int, height: Int) -> Self {
        .init(.deltaRectangleEmpty(index: index, width: width, height: height))
    }
    static func deltaRectangleOutOfBounds(index: Int, axis: DeltaAxis, origin: Int, extent: Int, frameExtent: Int) -> Self {
        .init(.deltaRectangleOutOfBounds(index: index, axis: axis, origin: origin, extent: extent, frameExtent: frameExtent))
    }
    static func deltaRectangleOverlap(index: Int, rectangle: DeltaRectangle, pixelX: Int, pixelY: Int) -> Self {
        .init(.deltaRectangleOverlap(index: index, rectangle: rectangle, pixelX: pixelX, pixelY: pixelY))
    }
    static func deltaTrailingBytes(count: Int, rectangles: Int) -> Self {
        .init(.deltaTrailingBytes(count: count, rectangles: rectangles))
    }
    /// A delta frame that arrives before the full frame of its size it would apply to.
    public static func deltaWithoutBase(_ size: FrameSize) -> Self {
        .init(.deltaWithoutBase(width: size.width, height: size.height))
    }

    /// The RFC 6455 close code that fits this error: 1009 for anything too big (a delta for a frame wider
    /// or taller than 65535 included), 1003 for a pixel format this reader cannot accept, 1007 for a
    /// malformed control message, 1008 for the rest (every malformed delta payload among them).
    public var closeCode: UInt16 {
        switch kind {
        case .payloadTooLarge, .dimensionTooLarge, .deltaFrameTooLarge: 1009
        case .reservedPixelFormat: 1003
        case .invalidControlMessage: 1007
        default: 1008
        }
    }

    public var description: String {
        switch kind {
        case .truncatedHeader(let available, let needed):
            "frame header truncated: \(available) of \(needed) bytes"
        case .badMagic(let bytes):
            "not a CanvasWire v1 frame: magic is \(Self.render(bytes)), expected \"CWF1\""
        case .reservedPixelFormat(let value):
            "pixel format \(value) is reserved: v1 knows 1 (RGBA8), 2 (PNG) and 3 (RGBA8 delta)"
        case .reservedFlags(let value):
            "flags byte is \(value), but v1 reserves it and requires 0"
        case .headerLengthTooSmall(let value):
            "header length \(value) is below the v1 minimum of \(FrameHeader.v1Length) bytes"
        case .zeroDimension(let field):
            "\(field) is 0; a frame is at least 1x1 pixels"
        case .dimensionTooLarge(let field, let value, let limit):
            "\(field) \(value) exceeds the limit of \(limit) pixels"
        case .payloadTooLarge(let bytes, let limit):
            "payload of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .payloadSizeMismatch(let expected, let actual):
            "payload is \(actual) bytes but the header promises \(expected) (width*height*4 for RGBA8)"
        case .emptyPayload:
            "PNG frame has an empty payload"
        case .invalidControlMessage(let reason):
            "invalid control message: \(reason)"
        case .deltaFrameTooLarge(let width, let height):
            "a \(width)x\(height) frame cannot be sent as a delta: rectangles address at most \(DeltaRectangle.maxCoordinate) pixels a side; send full frames"
        case .deltaCountTruncated(let available):
            "delta payload is \(available) bytes; it needs at least 4 for the rectangle count"
        case .deltaCountExceedsBytes(let count, let payloadBytes):
            "delta payload declares \(count) rectangles, but its \(payloadBytes) bytes hold at most \((payloadBytes - 4) / 12); send the count of rectangles that follow"
        case .deltaRectangleTruncated(let index, let needed, let available):
            "delta rectangle \(index) needs \(needed) more bytes (header and pixels) but only \(available) remain; the payload is cut short"
        case .deltaRectangleEmpty(let index, let width, let height):
            "delta rectangle \(index) is \(width)x\(height); a rectangle is at least 1x1 pixels"
        case .deltaRectangleOutOfBounds(let index, let axis, let origin, let extent, let frameExtent):
            switch axis {
            case .horizontal:
                "delta rectangle \(index) (x \(origin), w \(extent)) extends past the frame's width \(frameExtent)"
            case .vertical:
                "delta rectangle \(index) (y \(origin), h \(extent)) extends past the frame's height \(frameExtent)"
            }
        case .deltaRectangleOverlap(let index, let rectangle, let pixelX, let pixelY):
            "delta rectangle \(index) (\(rectangle)) overlaps an earlier rectangle at pixel (\(pixelX), \(pixelY)); rectangles must not overlap"
        case .deltaTrailingBytes(let count, let rectangles):
            "delta payload has \(count) bytes after its \(rectangles) rectangles; send exactly the rectangles it declares"
        case .deltaWithoutBase(let width, let height):
            "a delta frame applies to a full \(width)x\(height) RGBA8 frame, and none was received on this connection; send a full frame first"
        }
    }

    private static func render(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        return bytes.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
