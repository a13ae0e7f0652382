/// A server address, `nats://host:port` (the port defaults to 4222).
struct NATSURL: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    init(_ text: String) throws(NATSError) {
        var rest = text[...]
        if let scheme = rest.firstRange(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "nats" else {
                throw .invalidURL(text, reason: "only nats:// is supported (no TLS or WebSocket)")
            }
            rest = rest[scheme.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("@"), !rest.contains("/") else {
            throw .invalidURL(text, reason: "credentials and paths are not supported")
        }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {  // [::1]:4222
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
        } else {
            let colon = rest.lastIndex(of: ":") ?? rest.endIndex
            host = String(rest[..<colon])
            rest = rest[colon...]
        }
        guard !host.isEmpty else { throw .invalidURL(text, reason: "no host") }
        if rest.isEmpty {
            port = 4222
        } else if rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) {
            self.port = port
        } else {
            throw .invalidURL(text, reason: "the port must be a number from 1 to 65535")
        }
    }

    var description: String {
        host.contains(":") ? "nats://[\(host)]:\(port)" : "nats://\(host):\(port)"
    }
}
