public import CanvasWireCore
import CPNGCodec

/// Encodes RGBA8 pixels as PNG files in memory.
///
/// The default ``Configuration`` favours speed over size, because a receiver re-encoding a live 1080p
/// stream must keep up with it; see `docs/BENCHMARKS.md` for the measurements behind it. The encoder
/// holds no state between calls and is safe to share across tasks.
public struct PNGEncoder: Sendable {
    /// How the encoder trades speed for size.
    public var configuration: Configuration

    /// - Parameter configuration: Compression settings; the speed-first defaults unless given.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Encodes an image.
    ///
    /// - Parameter image: The pixels to encode.
    /// - Returns: A complete PNG file, 8 bits a sample, not interlaced.
    /// - Throws: ``PNGError`` if memory runs out or libpng rejects the image.
    public func encode(_ image: RGBAImage) throws(PNGError) -> [UInt8] {
        let result = image.pixels.withUnsafeBytes { encodeResult($0, size: image.size) }
        return try result.get()
    }

    /// Encodes pixels the caller owns, without copying them into an ``RGBAImage`` first.
    ///
    /// - Parameters:
    ///   - pixels: Exactly `size.rgbaByteCount` bytes, rows tightly packed, top row first.
    ///   - size: The image's size.
    /// - Returns: A complete PNG file, 8 bits a sample, not interlaced.
    /// - Throws: ``PNGError`` when `pixels` does not match `size`, memory runs out or libpng rejects the image.
    public func encode(_ pixels: UnsafeRawBufferPointer, size: FrameSize) throws(PNGError) -> [UInt8] {
        try encodeResult(pixels, size: size).get()
    }

    private func encodeResult(_ pixels: UnsafeRawBufferPointer, size: FrameSize) -> Result<[UInt8], PNGError> {
        guard size.width > 0, size.height > 0, size.width <= Int(Int32.max), size.height <= Int(Int32.max) else {
            return .failure(.invalidInput("cannot encode a \(size) image: both sides must be 1 to \(Int32.max) pixels"))
        }
        guard pixels.count == size.rgbaByteCount, let base = pixels.baseAddress else {
            return .failure(
                .invalidInput("RGBA buffer is \(pixels.count) bytes, but \(size) needs \(size.rgbaByteCount)"))
        }
        guard (0...9).contains(configuration.level) else {
            return .failure(.invalidInput("compression level \(configuration.level) is outside 0...9"))
        }
        var options = cw_png_encode_options(
            level: Int32(configuration.level),
            filter: configuration.filter.cValue,
            strategy: configuration.strategy.cValue,
            idat_size: Self.idatSize,
            drop_opaque_alpha: configuration.writesOpaqueImagesAsRGB ? 1 : 0
        )
        var report = cw_png_report()
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = cw_png_encode(
            base.assumingMemoryBound(to: UInt8.self), UInt32(size.width), UInt32(size.height), size.width * 4,
            &options, &output, &length, &report)
        guard status == CW_PNG_OK, let output else {
            switch status {
            case CW_PNG_OUT_OF_MEMORY: return .failure(.outOfMemory)
            case CW_PNG_BAD_ARGUMENT: return .failure(.invalidInput("libpng rejected the encoder options"))
            default: return .failure(.malformed(PNGDecoder.message(report)))
            }
        }
        defer { cw_png_free(output) }
        return .success(Array(UnsafeBufferPointer(start: output, count: length)))
    }

    /// Bytes libpng compresses before it writes an IDAT chunk: fewer, larger chunks cost less per frame.
    static let idatSize: UInt32 = 256 << 10
}
