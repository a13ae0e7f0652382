/// The name of a stream: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, other than `.` and `..`.
///
/// The alphabet is safe in a URL path, a file name and a Prometheus label without escaping; `.` and
/// `..` are path segments that clients and proxies rewrite, so they cannot name a stream.
public struct StreamName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maxLength = 64

    public let rawValue: String

    /// Returns `nil` unless `text` is a valid stream name.
    public init?(_ text: some StringProtocol) {
        guard (1...Self.maxLength).contains(text.utf8.count),
            text.utf8.allSatisfy(Self.isAllowed), text != ".", text != ".."
        else { return nil }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
