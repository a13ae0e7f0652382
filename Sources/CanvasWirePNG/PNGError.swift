import CanvasWireCore

/// A PNG that could not be decoded, encoded or split, with the reason in plain words.
///
/// The description names the source when the caller gave one (a file name, `stdin`, a stream name) and
/// then says what is wrong, for example `frames/x.png: truncated after 1234 bytes`. Match on ``code``
/// to react to a kind of failure; the wrapped cases stay private so new ones do not break callers.
public struct PNGError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case empty
        case notPNG
        case truncated(available: Int)
        case dimensionTooLarge(width: Int, height: Int, limits: FrameLimits)
        case zeroDimension(width: Int, height: Int)
        case malformed(String)
        case outOfMemory
        case invalidInput(String)
        case chunkTooLarge(type: String, length: Int, limit: Int, offset: Int)
        case fileTooLarge(bytes: Int, limit: Int, offset: Int)
        case badChunkType([UInt8], offset: Int)
        case notPNGInStream(offset: Int)
        case truncatedStream(available: Int, offset: Int)
    }

    /// A kind of failure, for callers that react differently to, say, an oversized image and a corrupt one.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The input does not start with the PNG signature (or is empty).
        public static let notPNG = Code("notPNG")
        /// The input ended before the image did.
        public static let truncated = Code("truncated")
        /// The declared size is over the caller's ``FrameLimits`` (checked before any pixel memory is allocated).
        public static let tooLarge = Code("tooLarge")
        /// libpng or zlib rejected the data: CRC mismatch, broken zlib stream, invalid header fields.
        public static let malformed = Code("malformed")
        /// Memory for the image could not be allocated.
        public static let outOfMemory = Code("outOfMemory")
        /// The caller passed pixels that do not match the stated size, or an invalid option.
        public static let invalidInput = Code("invalidInput")

        /// The code's name, for logs.
        public var description: String { name }
    }

    private let kind: Kind
    /// What the data came from (a file name, `stdin`), if the caller said; it prefixes the description.
    public let source: String?

    private init(_ kind: Kind, source: String? = nil) {
        self.kind = kind
        self.source = source
    }

    /// The same error attributed to `source`, for callers that learn the name after the fact.
    ///
    /// - Parameter source: A file name or other label the user will recognise.
    public func from(_ source: String?) -> PNGError { PNGError(kind, source: source) }

    static let empty = PNGError(.empty)
    static let notPNG = PNGError(.notPNG)
    static let outOfMemory = PNGError(.outOfMemory)
    static func truncated(available: Int) -> Self { .init(.truncated(available: available)) }
    static func tooLarge(width: Int, height: Int, limits: FrameLimits) -> Self {
        .init(.dimensionTooLarge(width: width, height: height, limits: limits))
    }
    static func zeroDimension(width: Int, height: Int) -> Self { .init(.zeroDimension(width: width, height: height)) }
    static func malformed(_ message: String) -> Self { .init(.malformed(message)) }
    static func invalidInput(_ message: String) -> Self { .init(.invalidInput(message)) }
    static func chunkTooLarge(type: String, length: Int, limit: Int, offset: Int) -> Self {
        .init(.chunkTooLarge(type: type, length: length, limit: limit, offset: offset))
    }
    static func fileTooLarge(bytes: Int, limit: Int, offset: Int) -> Self {
        .init(.fileTooLarge(bytes: bytes, limit: limit, offset: offset))
    }
    static func badChunkType(_ bytes: [UInt8], offset: Int) -> Self { .init(.badChunkType(bytes, offset: offset)) }
    static func notPNGInStream(offset: Int) -> Self { .init(.notPNGInStream(offset: offset)) }
    static func truncatedStream(available: Int, offset: Int) -> Self {
        .init(.truncatedStream(available: available, offset: offset))
    }

    /// The kind of failure.
    public var code: Code {
        switch kind {
        case .empty, .notPNG, .notPNGInStream, .badChunkType: .notPNG
        case .truncated, .truncatedStream: .truncated
        case .dimensionTooLarge, .chunkTooLarge, .fileTooLarge: .tooLarge
        case .zeroDimension, .malformed: .malformed
        case .outOfMemory: .outOfMemory
        case .invalidInput: .invalidInput
        }
    }

    /// The reason in plain words, without the source.
    public var reason: String {
        switch kind {
        case .empty:
            return "empty input, expected a PNG file"
        case .notPNG:
            return "not a PNG file (signature mismatch)"
        case .truncated(let available):
            return "truncated after \(available) bytes"
        case .dimensionTooLarge(let width, let height, let limits):
            if width > limits.maxWidth || height > limits.maxHeight {
                let limit = width > limits.maxWidth ? limits.maxWidth : limits.maxHeight
                if limits.maxWidth == limits.maxHeight {
                    return "declared \(width)x\(height) exceeds the limit of \(limit) pixels"
                }
                let side = width > limits.maxWidth ? "width" : "height"
                return "declared \(width)x\(height) exceeds the \(side) limit of \(limit) pixels"
            }
            return "declared \(width)x\(height) needs \(width * height * 4) bytes of RGBA, "
                + "over the limit of \(limits.maxPayloadBytes) bytes"
        case .zeroDimension(let width, let height):
            return "declared \(width)x\(height) has a zero dimension"
        case .malformed(let message):
            return "corrupt PNG data (\(message))"
        case .outOfMemory:
            return "out of memory"
        case .invalidInput(let message):
            return message
        case .chunkTooLarge(let type, let length, let limit, let offset):
            return "\(type) chunk at byte \(offset) declares \(length) bytes, over the limit of \(limit) bytes"
        case .fileTooLarge(let bytes, let limit, let offset):
            return "PNG file starting at byte \(offset) grows past \(bytes) bytes, over the limit of \(limit) bytes"
        case .badChunkType(let bytes, let offset):
            let hex = bytes.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return "not a PNG stream: chunk type at byte \(offset) is not four ASCII letters (\(hex))"
        case .notPNGInStream(let offset):
            return "not a PNG stream: no PNG signature at byte \(offset)"
        case .truncatedStream(let available, let offset):
            return "stream ended inside a PNG file: \(available) bytes of the file starting at byte \(offset)"
        }
    }

    /// `source: reason`, or just the reason when no source is known; one line, for logs and stderr.
    public var description: String {
        if let source { "\(source): \(reason)" } else { reason }
    }
}
