public import CanvasWireCore
import CPNGCodec

/// Decodes PNG files to RGBA8, exactly as stored: no gamma or colour-space conversion.
///
/// Every colour type and bit depth is accepted: palettes (with `tRNS`), grayscale (with or without alpha
/// or `tRNS`), 16-bit (the high byte of each sample is kept, as Pillow and libspng do) and Adam7
/// interlacing. Images without alpha get 255. The declared size is checked against ``limits`` before any
/// pixel memory is allocated, so a tiny file that declares a huge image (a decompression bomb) costs
/// nothing. Corrupt, truncated or non-PNG input throws ``PNGError``; it never crashes.
///
/// The decoder holds no state between calls and is safe to share across tasks.
public struct PNGDecoder: Sendable {
    /// Bounds on the declared width, height and RGBA size.
    public var limits: FrameLimits

    /// - Parameter limits: Bounds on the declared size; the wire's defaults unless the caller knows better.
    public init(limits: FrameLimits = .default) {
        self.limits = limits
    }

    /// Decodes a whole PNG file.
    ///
    /// - Parameters:
    ///   - png: The file's bytes. Bytes after `IEND` are ignored.
    ///   - source: A name for error messages, such as the file name.
    /// - Returns: The pixels, rows top first, 4 bytes a pixel.
    /// - Throws: ``PNGError`` when the data is not a complete, valid PNG within ``limits``.
    public func decode(_ png: [UInt8], source: String? = nil) throws(PNGError) -> RGBAImage {
        let result = png.withUnsafeBytes { decodeResult($0) }
        return try result.mapError { $0.from(source) }.get()
    }

    /// Decodes a whole PNG file from memory the caller owns, without copying it first.
    ///
    /// - Parameters:
    ///   - png: The file's bytes, valid for the duration of the call.
    ///   - source: A name for error messages, such as the file name.
    /// - Returns: The pixels, rows top first, 4 bytes a pixel.
    /// - Throws: ``PNGError`` when the data is not a complete, valid PNG within ``limits``.
    public func decode(_ png: UnsafeRawBufferPointer, source: String? = nil) throws(PNGError) -> RGBAImage {
        try decodeResult(png).mapError { $0.from(source) }.get()
    }

    private func decodeResult(_ png: UnsafeRawBufferPointer) -> Result<RGBAImage, PNGError> {
        guard let base = png.baseAddress, png.count > 0 else { return .failure(.empty) }
        var report = cw_png_report()
        var decoder: OpaquePointer?
        let cLimits = cw_png_limits(
            max_width: UInt32(clamping: limits.maxWidth),
            max_height: UInt32(clamping: limits.maxHeight),
            max_rgba_bytes: UInt64(clamping: limits.maxPayloadBytes)
        )
        let begin = cw_png_decoder_begin(
            base.assumingMemoryBound(to: UInt8.self), png.count, cLimits, &decoder, &report)
        guard begin == CW_PNG_OK, let decoder else {
            return .failure(error(begin, report))
        }
        defer { cw_png_decoder_destroy(decoder) }

        let size = FrameSize(width: Int(report.width), height: Int(report.height))
        let byteCount = size.rgbaByteCount
        var status = CW_PNG_OK
        let pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            status = cw_png_decoder_read_pixels(decoder, buffer.baseAddress, byteCount, &report)
            // On failure the buffer may be partly written; hand back all of it initialised anyway.
            if status != CW_PNG_OK { buffer.initialize(repeating: 0) }
            initialized = byteCount
        }
        guard status == CW_PNG_OK else { return .failure(error(status, report)) }
        return .success(RGBAImage(size: size, pixels: pixels))
    }

    private func error(_ status: cw_png_status, _ report: cw_png_report) -> PNGError {
        switch status {
        case CW_PNG_NOT_PNG:
            return .notPNG
        case CW_PNG_TRUNCATED:
            return .truncated(available: Int(report.offset))
        case CW_PNG_TOO_LARGE:
            return .tooLarge(width: Int(report.width), height: Int(report.height), limits: limits)
        case CW_PNG_OUT_OF_MEMORY:
            return .outOfMemory
        case CW_PNG_BAD_ARGUMENT:
            return .invalidInput("invalid arguments to the PNG decoder")
        default:
            return .malformed(Self.message(report))
        }
    }

    static func message(_ report: cw_png_report) -> String {
        withUnsafeBytes(of: report.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
