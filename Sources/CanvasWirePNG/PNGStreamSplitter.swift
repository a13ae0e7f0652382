public import CanvasWireCore

/// Splits a byte stream of concatenated PNG files into complete files, incrementally.
///
/// This is what `ffmpeg -f image2pipe -c:v png -` writes: one PNG after another with nothing in between.
/// Feed the stream in chunks of any size as it arrives; each call returns the files it completed. The
/// splitter walks chunk lengths to `IEND` without inflating anything, so it costs one copy per byte.
/// It checks the signature, chunk type letters and declared lengths against ``limits`` (no CRCs: the
/// decoder checks those), so a stream that is not PNG, or that declares a chunk larger than a frame may
/// be, fails as soon as the offending header arrives instead of buffering without bound.
///
/// After an error the stream cannot be resynchronised: every later call throws the same error.
public struct PNGStreamSplitter: Sendable {
    /// Bounds on a single chunk and a single file: neither may exceed `limits.maxPayloadBytes`.
    public let limits: FrameLimits

    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let maxChunkLength = 0x7FFF_FFFF

    /// Bytes of the file in progress (whole files are removed as soon as they complete).
    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the next signature or chunk header to parse.
    private var cursor = 0
    /// Stream offset of `buffer[0]`, for error messages.
    private var bufferOffset = 0
    private var failure: PNGError?

    /// - Parameter limits: Bounds on chunk and file sizes; the wire's defaults unless given.
    public init(limits: FrameLimits = .default) {
        self.limits = limits
    }

    /// Bytes held for a file that is not complete yet.
    public var bufferedByteCount: Int { buffer.count }

    /// Adds the next bytes of the stream.
    ///
    /// - Parameter bytes: Any number of bytes, including none.
    /// - Returns: The PNG files this input completed, in stream order (often none, sometimes several).
    /// - Throws: ``PNGError`` when the stream is not a sequence of PNG files or a chunk breaks ``limits``.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(PNGError) -> [[UInt8]] {
        if let failure { throw failure }
        buffer.append(contentsOf: bytes)
        return try split()
    }

    /// Adds the next bytes of the stream.
    ///
    /// - Parameter bytes: Any number of bytes, including none.
    /// - Returns: The PNG files this input completed, in stream order (often none, sometimes several).
    /// - Throws: ``PNGError`` when the stream is not a sequence of PNG files or a chunk breaks ``limits``.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(PNGError) -> [[UInt8]] {
        if let failure { throw failure }
        buffer.append(contentsOf: bytes)
        return try split()
    }

    /// Declares the end of the stream.
    ///
    /// - Throws: ``PNGError`` (code ``PNGError/Code/truncated``) when the stream stopped inside a file,
    ///   or the error an earlier call already threw.
    public func finish() throws(PNGError) {
        if let failure { throw failure }
        guard buffer.isEmpty else {
            throw .truncatedStream(available: buffer.count, offset: bufferOffset)
        }
    }

    private mutating func split() throws(PNGError) -> [[UInt8]] {
        do {
            return try splitUnchecked()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func splitUnchecked() throws(PNGError) -> [[UInt8]] {
        var files: [[UInt8]] = []
        var fileStart = 0
        defer {
            if fileStart > 0 {
                buffer.removeFirst(fileStart)
                bufferOffset += fileStart
                cursor -= fileStart
            }
        }
        while true {
            if cursor == fileStart {
                let available = min(buffer.count - fileStart, 8)
                guard buffer[fileStart..<fileStart + available].elementsEqual(Self.signature.prefix(available)) else {
                    throw .notPNGInStream(offset: bufferOffset + fileStart)
                }
                guard available == 8 else { return files }
                cursor += 8
            }
            guard buffer.count - cursor >= 8 else { return files }
            let length = buffer[cursor..<cursor + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = Array(buffer[cursor + 4..<cursor + 8])
            guard type.allSatisfy({ (0x41...0x5A).contains($0 & 0xDF) }) else {
                throw .badChunkType(type, offset: bufferOffset + cursor)
            }
            let typeName = String(decoding: type, as: UTF8.self)
            let chunkLimit = min(limits.maxPayloadBytes, Self.maxChunkLength)
            guard length <= chunkLimit else {
                throw .chunkTooLarge(type: typeName, length: length, limit: chunkLimit, offset: bufferOffset + cursor)
            }
            let chunkEnd = cursor + 12 + length
            guard chunkEnd - fileStart <= limits.maxPayloadBytes else {
                throw .fileTooLarge(
                    bytes: chunkEnd - fileStart, limit: limits.maxPayloadBytes, offset: bufferOffset + fileStart)
            }
            guard buffer.count >= chunkEnd else { return files }
            cursor = chunkEnd
            if typeName == "IEND" {
                files.append(Array(buffer[fileStart..<chunkEnd]))
                fileStart = chunkEnd
            }
        }
    }
}
