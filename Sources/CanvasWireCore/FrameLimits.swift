/// Upper bounds a reader enforces on every frame before it allocates anything for it.
///
/// A header or a PNG that declares more than these is rejected outright, so a hostile peer cannot make
/// a reader allocate memory by lying about a frame's size.
public struct FrameLimits: Hashable, Sendable {
    /// Largest accepted width in pixels.
    public var maxWidth: Int
    /// Largest accepted height in pixels.
    public var maxHeight: Int
    /// Largest accepted payload in bytes (the header is not counted).
    public var maxPayloadBytes: Int

    /// - Parameters:
    ///   - maxWidth: Largest accepted width, 16384 by default (the largest canvas browsers allow).
    ///   - maxHeight: Largest accepted height, 16384 by default.
    ///   - maxPayloadBytes: Largest accepted payload, 256 MiB by default.
    public init(maxWidth: Int = 16384, maxHeight: Int = 16384, maxPayloadBytes: Int = 256 << 20) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxPayloadBytes = maxPayloadBytes
    }

    public static let `default` = FrameLimits()

    /// Checks a declared size against the limits, before any pixel memory is allocated.
    public func check(width: Int, height: Int) throws(FrameError) {
        guard width >= 1 else { throw .zeroDimension("width") }
        guard height >= 1 else { throw .zeroDimension("height") }
        guard width <= maxWidth else { throw .dimensionTooLarge("width", value: width, limit: maxWidth) }
        guard height <= maxHeight else { throw .dimensionTooLarge("height", value: height, limit: maxHeight) }
        // With dimension limits above 2^31 the product can overflow; an overflowing size is too large.
        let (pixels, overflowA) = width.multipliedReportingOverflow(by: height)
        let (rgbaBytes, overflowB) = pixels.multipliedReportingOverflow(by: 4)
        guard !overflowA, !overflowB, rgbaBytes <= maxPayloadBytes else {
            throw .payloadTooLarge(bytes: overflowA || overflowB ? Int.max : rgbaBytes, limit: maxPayloadBytes)
        }
    }
}
