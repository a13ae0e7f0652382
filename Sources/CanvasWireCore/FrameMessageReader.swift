/// Validates one binary message as its fragments arrive, so a bad or oversized frame is refused after
/// its first bytes instead of after the whole message has been buffered.
///
/// Browsers split large messages into WebSocket frames of about 128 KiB. Feeding each fragment to this
/// reader lets a server reject, say, a header that promises 50000x50000 pixels before it stores a byte
/// of payload, and tells it the exact message size so it can allocate once.
public struct FrameMessageReader: Sendable {
    private let limits: FrameLimits
    private var headerBytes: [UInt8] = []
    private var header: FrameHeader?
    private var totalBytes = 0

    public init(limits: FrameLimits) {
        self.limits = limits
    }

    /// The header, once enough bytes have arrived to read and validate it.
    public var parsedHeader: FrameHeader? { header }

    /// The full length of the message once the header is known and the format fixes it (RGBA8).
    public var expectedMessageLength: Int? {
        guard let header, let payload = header.expectedPayloadLength else { return nil }
        return header.headerLength + payload
    }

    /// Feeds the next fragment of the message.
    ///
    /// - Returns: The header the first time it becomes available, `nil` otherwise.
    /// - Throws: As soon as the bytes seen so far cannot start a valid message.
    public mutating func consume(_ fragment: UnsafeRawBufferPointer) throws(FrameError) -> FrameHeader? {
        try consume(prefix: UnsafeRawBufferPointer(rebasing: fragment.prefix(bytesNeededForHeader)), fragmentLength: fragment.count)
    }

    /// How many bytes of the next fragment the reader still needs to see to parse the header; 0 once
    /// it has the header.
    public var bytesNeededForHeader: Int {
        header == nil ? FrameHeader.v1Length - headerBytes.count : 0
    }

    /// Feeds the next fragment when only its first ``bytesNeededForHeader`` bytes are at hand, for
    /// callers that unmask the fragment straight into their message buffer.
    ///
    /// - Parameters:
    ///   - prefix: At least the first `min(bytesNeededForHeader, fragmentLength)` bytes of the fragment.
    ///   - fragmentLength: The fragment's full length.
    public mutating func consume(prefix: UnsafeRawBufferPointer, fragmentLength: Int) throws(FrameError) -> FrameHeader? {
        totalBytes += fragmentLength
        var newlyParsed: FrameHeader?
        if header == nil {
            // Only the fixed 32 bytes are parsed; any extension bytes a later version adds are skipped.
            headerBytes.append(contentsOf: prefix.prefix(min(FrameHeader.v1Length - headerBytes.count, fragmentLength)))
            try headerBytes.withUnsafeBytes { raw in Result { () throws(FrameError) in try Self.checkPrefix(raw) } }
                .get()
            if headerBytes.count >= FrameHeader.v1Length {
                let parsed = try headerBytes.withUnsafeBytes { [limits] raw in
                    Result { () throws(FrameError) in try FrameHeader.parse(raw, limits: limits) }
                }.get()
                header = parsed
                newlyParsed = parsed
            }
        }
        try checkRunningLength()
        return newlyParsed
    }

    /// Declares the message complete and checks its final length.
    public func finish() throws(FrameError) -> FrameHeader {
        guard let header else {
            throw .truncatedHeader(available: totalBytes, needed: FrameHeader.v1Length)
        }
        guard totalBytes >= header.headerLength else {
            throw .truncatedHeader(available: totalBytes, needed: header.headerLength)
        }
        try header.validatePayloadLength(totalBytes - header.headerLength, limits: limits)
        return header
    }

    /// Rejects a wrong magic, format or flags byte as soon as it has arrived.
    private static func checkPrefix(_ raw: UnsafeRawBufferPointer) throws(FrameError) {
        let magicCount = min(raw.count, 4)
        guard raw.prefix(magicCount).elementsEqual(FrameHeader.magic.prefix(magicCount)) else {
            throw .badMagic(Array(raw.prefix(4)))
        }
        if raw.count > 4, PixelFormat(rawValue: raw[4]) == nil { throw .reservedPixelFormat(raw[4]) }
        if raw.count > 5, raw[5] != 0 { throw .reservedFlags(raw[5]) }
    }

    private func checkRunningLength() throws(FrameError) {
        guard let header else { return }
        let payload = totalBytes - header.headerLength
        guard payload <= limits.maxPayloadBytes else {
            throw .payloadTooLarge(bytes: payload, limit: limits.maxPayloadBytes)
        }
        if let expected = header.expectedPayloadLength, payload > expected {
            throw .payloadSizeMismatch(expected: expected, actual: payload)
        }
    }
}
