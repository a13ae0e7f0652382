/// A `ws://` or `wss://` URL taken apart for connecting.
public struct WebSocketURL: Sendable, Hashable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path and query, as sent in the request line: `/streams/demo?policy=all`.
    public var target: String

    /// Parses `ws://host[:port]/path?query` or `wss://…`; also accepts `http://` and `https://`.
    /// Spaces, control and non-ASCII characters are refused: a request line cannot carry them.
    ///
    /// - Throws: ``WebSocketClientError`` naming what is wrong with the URL.
    public init(_ text: String) throws(WebSocketClientError) {
        let schemes: [(String, Bool, Int)] = [("ws://", false, 80), ("wss://", true, 443), ("http://", false, 80), ("https://", true, 443)]
        guard let (prefix, secure, defaultPort) = schemes.first(where: { text.lowercased().hasPrefix($0.0) }) else {
            throw .invalidURL(text, reason: "it must start with ws:// or wss://")
        }
        // The request line carries the target as it is: a space would end it early, and the server's
        // HTTP parser refuses the rest ("invalid character in header" came back for a stream "a b").
        if let bad = text.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
            let what = bad == " " ? "a space" : bad.isASCII ? "a control character" : "the non-ASCII character \(bad)"
            throw .invalidURL(text, reason: "it contains \(what); a URL holds printable ASCII only (percent-encode the rest)")
        }
        let rest = text.dropFirst(prefix.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var target = String(rest.dropFirst(authority.count))
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        var host = String(authority)
        var port = defaultPort
        if host.hasPrefix("[") {  // [::1]:8080
            guard let close = host.firstIndex(of: "]") else { throw .invalidURL(text, reason: "unclosed [ in the host") }
            let after = host[host.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else {
                throw .invalidURL(text, reason: "unexpected characters after ] in the host")
            }
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { throw .invalidURL(text, reason: "the port is not a number") }
                port = parsed
            }
            host = String(host[host.index(after: host.startIndex)..<close])
            guard host.contains(":"), !host.contains("[") else {
                throw .invalidURL(text, reason: "brackets hold an IPv6 address only, like [::1]:8080")
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = Int(host[host.index(after: colon)...]) else {
                throw .invalidURL(text, reason: "the port is not a number")
            }
            port = parsed
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw .invalidURL(text, reason: "it has no host") }
        // An IPv6 address needs brackets, and brackets nothing else: otherwise the URL would not be
        // written back the way it was read (found by fuzz-request: ws://::1]:8443/ was taken).
        if !text.dropFirst(prefix.count).hasPrefix("[") {
            guard !host.contains(where: { $0 == ":" || $0 == "[" || $0 == "]" }) else {
                throw .invalidURL(text, reason: "put an IPv6 address in brackets, like [::1]:8080")
            }
        }
        guard (1...65535).contains(port) else { throw .invalidURL(text, reason: "port \(port) is out of range") }
        self.secure = secure
        self.host = host
        self.port = port
        self.target = target
    }

    /// The `Host` header value.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }

    /// The path without the query.
    public var path: String { String(target.prefix { $0 != "?" }) }

    /// This URL with `name=value` set in its query, replacing an earlier value of `name`.
    public func settingQueryItem(_ name: String, to value: String) -> WebSocketURL {
        var copy = self
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var items = parts.count == 2 ? parts[1].split(separator: "&").map(String.init) : []
        items.removeAll { $0 == name || $0.hasPrefix(name + "=") }
        items.append("\(name)=\(value)")
        copy.target = String(parts[0]) + "?" + items.joined(separator: "&")
        return copy
    }

    public var description: String { "\(secure ? "wss" : "ws")://\(hostHeader)\(target)" }
}
