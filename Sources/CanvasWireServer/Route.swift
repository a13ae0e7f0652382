import CanvasWireCore

/// A request target split into its path segments and decoded query parameters.
struct RequestTarget: Sendable {
    var path: String
    var segments: [Substring]
    var query: [String: String]

    init(_ uri: String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        segments = parts[0].split(separator: "/")
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = Self.percentDecoded(keyValue[0])
                query[key] = keyValue.count == 2 ? Self.percentDecoded(keyValue[1]) : ""
            }
        }
        self.query = query
    }

    /// Decodes `%XX` escapes and `+`; malformed escapes are kept as they are.
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of one hexadecimal digit; `nil` for anything else (`UInt8(_:radix:)` would also take
    /// a sign, so `%+1` would decode).
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// What the server serves at a path.
enum Route: Equatable, Sendable {
    case viewerPage
    case senderPage
    case streamList
    case latestPNG(StreamName)
    case health
    case metrics
    case publish(StreamName)
    case view(StreamName)
    case echo
    case invalidStreamName(String)
    case notFound

    init(_ target: RequestTarget) {
        let segments = target.segments
        switch segments.count {
        case 0:
            self = .viewerPage
        case 1:
            switch segments[0] {
            case "send": self = .senderPage
            case "streams": self = .streamList
            case "healthz": self = .health
            case "metrics": self = .metrics
            case "echo": self = .echo
            case "index.html": self = .viewerPage
            default: self = .notFound
            }
        case 2, 3:
            guard segments[0] == "streams" else {
                self = .notFound
                return
            }
            guard let name = StreamName(RequestTarget.percentDecoded(segments[1])) else {
                self = .invalidStreamName(String(segments[1]))
                return
            }
            if segments.count == 2 {
                self = .view(name)
            } else if segments[2] == "publish" {
                self = .publish(name)
            } else if segments[2] == "latest.png" {
                self = .latestPNG(name)
            } else {
                self = .notFound
            }
        default:
            self = .notFound
        }
    }

    /// A `/streams/...` path whose name is not a valid stream name; explained like a refused upgrade.
    var isInvalidStreamName: Bool {
        if case .invalidStreamName = self { true } else { false }
    }

    var isWebSocket: Bool {
        switch self {
        case .publish, .view, .echo: true
        default: false
        }
    }
}
