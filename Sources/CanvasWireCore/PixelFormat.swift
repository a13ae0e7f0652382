/// How a frame's payload encodes its pixels (byte 4 of the v1 header).
public enum PixelFormat: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 8-bit RGBA, rows tightly packed, top row first: exactly a canvas `ImageData.data`.
    case rgba8 = 1
    /// The payload is a complete PNG file.
    case png = 2

    public var description: String {
        switch self {
        case .rgba8: "rgba"
        case .png: "png"
        }
    }
}
