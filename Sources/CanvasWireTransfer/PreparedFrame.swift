public import CanvasWireCore
public import CanvasWirePNG

/// A frame decoded (or checked) and ready for the wire.
public struct PreparedFrame: Sendable {
    /// The input's path or name, for messages.
    public var name: String
    /// How the payload is encoded on the wire.
    public var format: PixelFormat
    /// The decoded image's size, which the frame header carries.
    public var size: FrameSize
    /// RGBA8 pixels, or the PNG file as it was read.
    public var payload: [UInt8]

    /// Reads and decodes `item`. A PNG sent as PNG is still decoded once, so a broken file is caught
    /// here and never reaches a viewer.
    ///
    /// - Parameters:
    ///   - format: What goes on the wire: `.rgba8` (decoded pixels) or `.png` (the file as it is).
    /// - Throws: ``TransferError`` naming the file that cannot be read or decoded.
    public static func prepare(_ item: SourceItem, format: PixelFormat, decoder: PNGDecoder) throws(TransferError) -> PreparedFrame {
        let (png, name): ([UInt8], String)
        switch item {
        case .raw(let pixels, let size, let name):
            return PreparedFrame(name: name, format: .rgba8, size: size, payload: pixels)
        case .file(let path):
            (png, name) = (try BlockingIO.readFile(path), path)
        case .png(let bytes, let itemName):
            (png, name) = (bytes, itemName)
        }
        let image: RGBAImage
        do {
            image = try decoder.decode(png, source: name)
        } catch {
            throw .invalidFrame(name, reason: error.description)
        }
        return PreparedFrame(
            name: name, format: format, size: image.size, payload: format == .png ? png : image.pixels
        )
    }
}
