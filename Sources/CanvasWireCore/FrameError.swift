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
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func truncatedHeader(available: Int, needed: Int) -> Self {
        .init(.truncatedHeader(available: available, needed: needed))
    }
    static func badMagic(_ bytes: [UInt8]) -> Self { .init(.badMagic(bytes)) }
    static func reservedPixelFormat(_ value: UInt8) -> Self { .init(.reservedPixelFormat(value)) }
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

    /// The RFC 6455 close code that fits this error: 1009 for anything too big, 1003 for a pixel format
    /// this reader cannot accept, 1007 for a malformed control message, 1008 for the rest.
    public var closeCode: UInt16 {
        switch kind {
        case .payloadTooLarge, .dimensionTooLarge: 1009
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
            "pixel format \(value) is reserved: v1 knows 1 (RGBA8) and 2 (PNG)"
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
        }
    }

    private static func render(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        return bytes.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
