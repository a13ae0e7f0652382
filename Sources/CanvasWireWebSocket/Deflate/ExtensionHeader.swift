/// One extension of a `Sec-WebSocket-Extensions` header (RFC 6455 9.1): a name and its parameters in
/// order, values unquoted; a parameter without a value has `nil`.
package struct WebSocketExtensionOffer: Equatable, Sendable {
    package var name: String
    package var parameters: [(name: String, value: String?)]

    package init(name: String, parameters: [(name: String, value: String?)] = []) {
        self.name = name
        self.parameters = parameters
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.parameters.elementsEqual(rhs.parameters) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Parses every `Sec-WebSocket-Extensions` header of a request or response (their values are one
    /// comma-separated list). Returns `nil` when the header does not follow the RFC's grammar.
    package static func parse(_ headers: [String]) -> [WebSocketExtensionOffer]? {
        var offers: [WebSocketExtensionOffer] = []
        for header in headers {
            var scanner = Scanner(Array(header.utf8))
            while true {
                scanner.skipWhitespace()
                if scanner.isAtEnd { break }
                if scanner.take(UInt8(ascii: ",")) { continue }  // empty list elements are allowed
                guard let name = scanner.token() else { return nil }
                var offer = WebSocketExtensionOffer(name: name.lowercased())
                scanner.skipWhitespace()
                while scanner.take(UInt8(ascii: ";")) {
                    scanner.skipWhitespace()
                    guard let parameter = scanner.token() else { return nil }
                    scanner.skipWhitespace()
                    var value: String?
                    if scanner.take(UInt8(ascii: "=")) {
                        scanner.skipWhitespace()
                        guard let parsed = scanner.token() ?? scanner.quotedString() else { return nil }
                        value = parsed
                        scanner.skipWhitespace()
                    }
                    offer.parameters.append((parameter.lowercased(), value))
                }
                offers.append(offer)
                scanner.skipWhitespace()
                guard scanner.isAtEnd || scanner.take(UInt8(ascii: ",")) else { return nil }
            }
        }
        return offers
    }

    /// The extension as a header value: `name; param; param=value`.
    package var headerValue: String {
        ([name] + parameters.map { parameter in parameter.value.map { "\(parameter.name)=\($0)" } ?? parameter.name })
            .joined(separator: "; ")
    }
}

/// Reads the tokens and quoted strings of an HTTP header value (RFC 7230 3.2.6).
private struct Scanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func token() -> String? {
        let start = index
        while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    mutating func quotedString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                value.append(bytes[index])
                index += 1
            default:
                value.append(byte)
            }
        }
        return nil
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
