/// The fixed header in front of every binary CanvasWire message (wire format v1, `docs/PROTOCOL.md`).
///
/// All integers are little-endian, as a JavaScript `DataView` reads them with `littleEndian = true`.
public struct FrameHeader: Hashable, Sendable {
    /// The four bytes every v1 message starts with: ASCII `CWF1`.
    public static let magic: [UInt8] = Array("CWF1".utf8)
    /// The header length a v1 writer emits; readers accept larger values and skip the extra bytes.
    public static let v1Length = 32

    public var pixelFormat: PixelFormat
    public var width: Int
    public var height: Int
    /// Position of the frame within its stream, starting at 0.
    public var sequence: UInt64
    /// Capture time in microseconds since the Unix epoch.
    public var captureTimeMicros: UInt64
    /// Bytes from the start of the message to the payload. Always 32 when written by this version.
    public var headerLength: Int

    public init(
        pixelFormat: PixelFormat,
        width: Int,
        height: Int,
        sequence: UInt64,
        captureTimeMicros: UInt64,
        headerLength: Int = FrameHeader.v1Length
    ) {
        self.pixelFormat = pixelFormat
        self.width = width
        self.height = height
        self.sequence = sequence
        self.captureTimeMicros = captureTimeMicros
        self.headerLength = headerLength
    }

    public var size: FrameSize { FrameSize(width: width, height: height) }

    /// The payload length the header demands, or `nil` where the format leaves it open (PNG).
    public var expectedPayloadLength: Int? {
        pixelFormat == .rgba8 ? width * height * 4 : nil
    }

    /// Calls `body` with the 32-byte v1 encoding of this header, laid out on the stack.
    ///
    /// Callers copy the bytes straight into a `ByteBuffer`, an array or raw memory: no heap allocation.
    public func withV1Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return try withUnsafeMutableBytes(of: &bytes) { raw in
            raw.copyBytes(from: Self.magic)
            raw[4] = pixelFormat.rawValue
            raw[5] = 0
            raw.storeBytes(of: UInt16(Self.v1Length).littleEndian, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: width).littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: height).littleEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: captureTimeMicros.littleEndian, toByteOffset: 24, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(raw))
        }
    }

    /// The 32-byte v1 encoding as an array.
    public var v1Bytes: [UInt8] { withV1Bytes { Array($0) } }

    /// Parses and validates a header at the start of `bytes`.
    ///
    /// Every field is checked, in wire order, against v1 and `limits`; nothing is allocated.
    /// - Parameters:
    ///   - bytes: At least the fixed 32 bytes of the header; the payload may follow.
    ///   - limits: The reader's size limits.
    /// - Returns: The header. Its `headerLength` tells where the payload starts.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: FrameLimits) throws(FrameError) -> FrameHeader {
        guard bytes.count >= 4 else { throw .truncatedHeader(available: bytes.count, needed: v1Length) }
        guard bytes.prefix(4).elementsEqual(magic) else { throw .badMagic(Array(bytes.prefix(4))) }
        guard bytes.count >= v1Length else { throw .truncatedHeader(available: bytes.count, needed: v1Length) }
        guard let pixelFormat = PixelFormat(rawValue: bytes[4]) else { throw .reservedPixelFormat(bytes[4]) }
        guard bytes[5] == 0 else { throw .reservedFlags(bytes[5]) }
        let headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
        guard headerLength >= v1Length else { throw .headerLengthTooSmall(headerLength) }
        let width = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let height = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        try limits.check(width: width, height: height)
        return FrameHeader(
            pixelFormat: pixelFormat,
            width: width,
            height: height,
            sequence: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            captureTimeMicros: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
            headerLength: headerLength
        )
    }

    /// Splits a complete binary message into its header and payload, checking both: what every reader
    /// of whole messages does (a server reads its publishers' messages piece by piece with
    /// ``FrameMessageReader`` instead).
    ///
    /// - Returns: The header and the payload's length; the payload starts at `header.headerLength`.
    public static func split(_ message: UnsafeRawBufferPointer, limits: FrameLimits) throws(FrameError) -> (header: FrameHeader, payloadLength: Int) {
        let header = try parse(message, limits: limits)
        guard message.count >= header.headerLength else {
            throw .truncatedHeader(available: message.count, needed: header.headerLength)
        }
        let payloadLength = message.count - header.headerLength
        try header.validatePayloadLength(payloadLength, limits: limits)
        return (header, payloadLength)
    }

    /// Checks a complete message's payload length against this header and the limits.
    public func validatePayloadLength(_ length: Int, limits: FrameLimits) throws(FrameError) {
        guard length <= limits.maxPayloadBytes else {
            throw .payloadTooLarge(bytes: length, limit: limits.maxPayloadBytes)
        }
        switch pixelFormat {
        case .rgba8:
            let expected = width * height * 4
            guard length == expected else { throw .payloadSizeMismatch(expected: expected, actual: length) }
        case .png:
            guard length > 0 else { throw .emptyPayload }
        case .rgba8Delta:
            // The rectangles themselves are checked against the frame the receiver holds (DeltaDecoder).
            guard length >= 4 else { throw .deltaCountTruncated(available: length) }
        }
    }
}
