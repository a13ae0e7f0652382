/// How a frame's payload encodes its pixels (byte 4 of the v1 header).
public enum PixelFormat: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 8-bit RGBA, rows tightly packed, top row first: exactly a canvas `ImageData.data`.
    case rgba8 = 1
    /// The payload is a complete PNG file.
    case png = 2
    /// Changed rectangles of RGBA8 pixels, applied to the frame the receiver holds
    /// (docs/PROTOCOL.md, "Delta frames"; ``DeltaDecoder``).
    case rgba8Delta = 3

    public var description: String {
        switch self {
        case .rgba8: "rgba"
        case .png: "png"
        case .rgba8Delta: "delta"
        }
    }
}
