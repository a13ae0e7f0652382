/// Pixels in the wire's RGBA8 layout: rows tightly packed, top row first, 4 bytes a pixel.
public struct RGBAImage: Hashable, Sendable {
    public var size: FrameSize
    /// Exactly `size.rgbaByteCount` bytes.
    public var pixels: [UInt8]

    /// - Precondition: `pixels.count == size.rgbaByteCount`.
    public init(size: FrameSize, pixels: [UInt8]) {
        precondition(pixels.count == size.rgbaByteCount, "RGBA buffer does not match \(size)")
        self.size = size
        self.pixels = pixels
    }

    public var width: Int { size.width }
    public var height: Int { size.height }
}
