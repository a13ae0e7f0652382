/// The dimensions of a frame in pixels.
public struct FrameSize: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Parses the `WxH` notation used on the command line and in query strings, for example `1920x1080`.
    ///
    /// Returns `nil` for anything that is not two positive decimal integers joined by `x`.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let width = Int(parts[0]), let height = Int(parts[1]),
            width > 0, height > 0
        else { return nil }
        self.init(width: width, height: height)
    }

    /// Bytes of an RGBA8 frame of this size: `width * height * 4`.
    public var rgbaByteCount: Int { width * height * 4 }

    public var description: String { "\(width)x\(height)" }
}
