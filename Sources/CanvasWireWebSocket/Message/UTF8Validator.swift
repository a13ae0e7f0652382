/// Checks UTF-8 as it arrives in pieces, so a text message split across fragments is refused at the
/// first invalid byte (RFC 6455 8.1) rather than after all of it has been buffered.
///
/// The rules are RFC 3629's: no overlong forms, no surrogates (U+D800 to U+DFFF), nothing above
/// U+10FFFF. Runs of ASCII are skipped eight bytes at a time.
package struct UTF8Validator: Sendable {
    /// Continuation bytes the current character still needs.
    private var remaining = 0
    /// The range the next continuation byte must fall in; narrower than 0x80...0xBF right after lead
    /// bytes E0, ED, F0 and F4, which is how overlong forms, surrogates and too-large values are excluded.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    private(set) package var isValid = true

    package init() {}

    /// Whether everything so far is valid and ends on a character boundary: a complete message must.
    package var isComplete: Bool { isValid && remaining == 0 }

    /// Feeds the next bytes; returns `false` once the input can no longer be valid UTF-8.
    @discardableResult
    package mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard isValid else { return false }
        var index = 0
        let count = bytes.count
        while index < count {
            if remaining == 0 {
                while index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { break }
                let byte = bytes[index]
                index += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: remaining = 1
                case 0xE0: (remaining, lower) = (2, 0xA0)
                case 0xE1...0xEC, 0xEE...0xEF: remaining = 2
                case 0xED: (remaining, upper) = (2, 0x9F)
                case 0xF0: (remaining, lower) = (3, 0x90)
                case 0xF1...0xF3: remaining = 3
                case 0xF4: (remaining, upper) = (3, 0x8F)
                default:
                    isValid = false
                    return false
                }
            } else {
                let byte = bytes[index]
                index += 1
                guard byte >= lower, byte <= upper else {
                    isValid = false
                    return false
                }
                (lower, upper) = (0x80, 0xBF)
                remaining -= 1
            }
        }
        return true
    }
}
