package import NIOCore

/// The body of a close frame (RFC 6455 5.5.1): an optional status code and a UTF-8 reason.
package struct ClosePayload: Equatable, Sendable {
    /// The reason fits the 125-byte control-frame limit with the two bytes of the code.
    package static let maxReasonBytes = 123

    /// `nil` when the frame carried no code (the peer then sees 1005, "no status received").
    package var code: UInt16?
    package var reason: String

    package init(code: UInt16?, reason: String = "") {
        self.code = code
        self.reason = code == nil ? "" : Self.truncated(reason, toUTF8Bytes: Self.maxReasonBytes)
    }

    /// Whether `code` may appear in a close frame: RFC 6455 7.4.1 and 7.4.2 define 1000-1003 and
    /// 1007-1011, the IANA registry adds 1012-1014 (service restart, try again later, bad gateway),
    /// 3000-4999 belong to libraries and applications. 1004-1006 and 1015 are never sent, 0-999 and
    /// 5000 and above are not used, 1016-2999 are reserved for the RFC's extensions.
    package static func isValidCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// Why a received close frame must fail the connection, with the code to fail it with.
    package struct Violation: Error, Equatable {
        package var code: UInt16
        package var reason: String
    }

    /// Parses and checks a received close frame's (unmasked) body.
    ///
    /// - Throws: ``Violation`` 1002 for a one-byte body or a code that may not be sent, 1007 for a
    ///   reason that is not UTF-8.
    package init(parsing body: ByteBuffer) throws(Violation) {
        var body = body
        switch body.readableBytes {
        case 0:
            self.init(code: nil)
        case 1:
            throw Violation(code: 1002, reason: "close frame body of one byte: a status code needs two")
        default:
            let code = body.readInteger(as: UInt16.self)!
            guard Self.isValidCode(code) else {
                throw Violation(code: 1002, reason: "close code \(code) may not be sent (RFC 6455 7.4)")
            }
            var validator = UTF8Validator()
            _ = body.withUnsafeReadableBytes { validator.consume($0) }
            guard validator.isComplete else {
                throw Violation(code: 1007, reason: "close reason is not valid UTF-8")
            }
            self.init(code: code, reason: String(decoding: body.readableBytesView, as: UTF8.self))
        }
    }

    /// The frame body: the code in network byte order and the reason, or nothing without a code.
    package func encoded(allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let code else { return allocator.buffer(capacity: 0) }
        var body = allocator.buffer(capacity: 2 + reason.utf8.count)
        body.writeInteger(code)
        body.writeString(reason)
        return body
    }

    /// `text` cut at a character boundary so that it takes at most `limit` bytes of UTF-8: a reason cut
    /// mid-character would be invalid UTF-8, which the peer must refuse.
    package static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        for character in text {
            guard result.utf8.count + character.utf8.count <= limit else { break }
            result.append(character)
        }
        return result
    }
}
