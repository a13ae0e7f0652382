/// One rectangle of an RGBA8 delta frame (pixel format 3): where it lies in the full frame.
///
/// On the wire it is `u16 x, u16 y, u16 w, u16 h` (little-endian) followed by `w*h*4` bytes of RGBA,
/// rows top first, which is what a browser hands to `putImageData(imageData, x, y)`. A receiver copies
/// those pixels over the frame it holds; pixels outside every rectangle stay as they were.
public struct DeltaRectangle: Hashable, Sendable, CustomStringConvertible {
    /// The largest coordinate or extent the wire's 16-bit fields can carry. A frame wider or taller
    /// than this cannot be sent as a delta.
    public static let maxCoordinate = Int(UInt16.max)
    /// Bytes in front of each rectangle's pixels: x, y, w and h as `u16`.
    public static let headerLength = 8

    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Bytes of this rectangle on the wire: its header and `width*height*4` bytes of pixels.
    public var encodedLength: Int { Self.headerLength + width * height * 4 }

    public var description: String { "x \(x), y \(y), \(width)x\(height)" }

    /// Refuses a frame wider or taller than the wire's 16-bit fields can address.
    static func checkAddressable(_ size: FrameSize) throws(FrameError) {
        guard size.width <= maxCoordinate, size.height <= maxCoordinate else {
            throw .deltaFrameTooLarge(width: size.width, height: size.height)
        }
    }

    /// Checks that the rectangle is at least 1x1 and lies inside a frame of `size`.
    ///
    /// - Parameter index: The rectangle's position in its delta, for the error's description.
    func check(index: Int, in size: FrameSize) throws(FrameError) {
        guard width >= 1, height >= 1 else { throw .deltaRectangleEmpty(index: index, width: width, height: height) }
        guard x >= 0, x <= size.width - width else {
            throw .deltaRectangleOutOfBounds(index: index, axis: .horizontal, origin: x, extent: width, frameExtent: size.width)
        }
        guard y >= 0, y <= size.height - height else {
            throw .deltaRectangleOutOfBounds(index: index, axis: .vertical, origin: y, extent: height, frameExtent: size.height)
        }
    }

    /// Reads the 8-byte header at `offset`; the caller has checked that the bytes are there.
    static func read(from payload: UnsafeRawBufferPointer, at offset: Int) -> DeltaRectangle {
        func field(_ position: Int) -> Int {
            Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: offset + position, as: UInt16.self)))
        }
        return DeltaRectangle(x: field(0), y: field(2), width: field(4), height: field(6))
    }

    /// Writes the 8-byte header at `offset`; the rectangle fits the wire's 16-bit fields.
    func write(to destination: UnsafeMutableRawBufferPointer, at offset: Int) {
        destination.storeBytes(of: UInt16(x).littleEndian, toByteOffset: offset, as: UInt16.self)
        destination.storeBytes(of: UInt16(y).littleEndian, toByteOffset: offset + 2, as: UInt16.self)
        destination.storeBytes(of: UInt16(width).littleEndian, toByteOffset: offset + 4, as: UInt16.self)
        destination.storeBytes(of: UInt16(height).littleEndian, toByteOffset: offset + 6, as: UInt16.self)
    }
}
