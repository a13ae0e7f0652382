/// Why a client connection could not be made or did not go on, as one sentence a user can act on.
///
/// ``isTransient`` sorts the failures the way a reconnecting client needs: a server that is not up
/// yet, restarting, overloaded or briefly unreachable may answer the next attempt; a wrong URL, stream
/// name or token, a missing endpoint or a frame the server refuses fails the same way every time.
public struct WebSocketClientError: Error, Sendable, CustomStringConvertible {
    private indirect enum Kind: Sendable {
        case invalidURL(String, reason: String)
        case connectionFailed(String, reason: String, transient: Bool)
        case handshakeRefused(String, status: Int, body: String)
        case closed(CloseInfo)
        case protocolViolation(String)
        case gaveUp(WebSocketClientError, after: Duration)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func invalidURL(_ url: String, reason: String) -> Self { .init(.invalidURL(url, reason: reason)) }
    static func connectionFailed(_ url: String, underlying: any Error) -> Self {
        let failure = ConnectionFailure(underlying)
        return .init(.connectionFailed(url, reason: failure.reason, transient: failure.isTransient))
    }
    static func handshakeRefused(_ url: String, status: Int, body: String) -> Self {
        .init(.handshakeRefused(url, status: status, body: body))
    }
    static func closed(_ info: CloseInfo) -> Self { .init(.closed(info)) }
    static func protocolViolation(_ reason: String) -> Self { .init(.protocolViolation(reason)) }
    /// `last` was transient, but attempts kept failing for `after` and the caller's bound is reached.
    static func gaveUp(_ last: WebSocketClientError, after: Duration) -> Self { .init(.gaveUp(last, after: after)) }

    /// The HTTP status of a refused handshake, so callers can tell "wrong token" (401) from a lost network.
    public var refusedStatus: Int? {
        switch kind {
        case .handshakeRefused(_, let status, _): status
        case .gaveUp(let last, _): last.refusedStatus
        default: nil
        }
    }

    /// How the connection closed, when that is the error.
    public var closeInfo: CloseInfo? {
        switch kind {
        case .closed(let info): info
        case .gaveUp(let last, _): last.closeInfo
        default: nil
        }
    }

    /// Whether the same attempt may succeed later without anyone changing anything, so that retrying
    /// it (with a backoff, for a bounded time) makes sense.
    ///
    /// Transient: nothing listening yet, a reset or timed-out connection, HTTP 408, 429 and 5xx
    /// (503: the server's stream limit), close codes 1001 (going away), 1006 (connection lost), 1011,
    /// 1012 (restart), 1013 (try again later) and 1014. Not transient: an invalid URL or stream name,
    /// other HTTP 4xx (400 bad name, 401 token, 403 origin, 404 endpoint), a failed TLS handshake,
    /// close codes 1002, 1003, 1007, 1008 (for example a second publisher), 1009 and 1010, and a
    /// server that breaks the protocol. An error that ends a bounded retry keeps the answer of the
    /// failure it ended on.
    public var isTransient: Bool {
        switch kind {
        case .invalidURL, .protocolViolation:
            false
        case .connectionFailed(_, _, let transient):
            transient
        case .handshakeRefused(_, let status, _):
            status == 408 || status == 429 || (500..<600).contains(status)
        case .closed(let info):
            ![1002, 1003, 1007, 1008, 1009, 1010].contains(info.code)
        case .gaveUp(let last, _):
            last.isTransient
        }
    }

    public var description: String {
        switch kind {
        case .invalidURL(let url, let reason):
            return "invalid URL \(url): \(reason)"
        case .connectionFailed(let url, let reason, _):
            return "cannot connect to \(url): \(reason)"
        case .handshakeRefused(let url, let status, let body):
            // A proxy may answer with a page of HTML: its first line is enough, and one line is the rule.
            let line = body.split(whereSeparator: \.isNewline).first.map { String($0.prefix(200)) } ?? ""
            return "\(url) refused the connection with HTTP \(status)\(line.isEmpty ? "" : ": \(line)")"
        case .closed(let info):
            return Self.sentence(for: info)
        case .protocolViolation(let reason):
            return "the server broke the WebSocket protocol: \(reason)"
        case .gaveUp(let last, let after):
            return "\(last); gave up after retrying for \(Self.wholeSeconds(after)) s"
        }
    }

    private static func wholeSeconds(_ duration: Duration) -> Int64 {
        duration.components.seconds + (duration.components.attoseconds >= 500_000_000_000_000_000 ? 1 : 0)
    }

    private static func sentence(for info: CloseInfo) -> String {
        let reason = info.reason.isEmpty ? "" : ": \(info.reason)"
        // 1006 is no close frame at all: the reason, if any, is this side's ("connection lost" says it twice).
        if info.code == 1006 { return "the connection was lost\(info.reason == "connection lost" ? "" : reason)" }
        let meaning = closeCodeMeanings[info.code].map { " (\($0))" } ?? ""
        return "the server closed the connection with \(info.code)\(meaning)\(reason)"
    }

    private static let closeCodeMeanings: [UInt16: String] = [
        1000: "normal closure", 1001: "going away", 1002: "protocol error", 1003: "unsupported data",
        1005: "no code given", 1007: "invalid data", 1008: "policy violation", 1009: "message too big",
        1010: "extension required", 1011: "server error", 1012: "server restarting", 1013: "try again later",
        1014: "bad gateway",
    ]
}
