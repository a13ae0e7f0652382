/// Why a client connection could not be made or did not go on.
public struct WebSocketClientError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case invalidURL(String, reason: String)
        case connectionFailed(String, underlying: String)
        case handshakeRefused(String, status: Int, body: String)
        case closed(CloseInfo)
        case protocolViolation(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func invalidURL(_ url: String, reason: String) -> Self { .init(.invalidURL(url, reason: reason)) }
    static func connectionFailed(_ url: String, underlying: any Error) -> Self {
        .init(.connectionFailed(url, underlying: "\(underlying)"))
    }
    static func handshakeRefused(_ url: String, status: Int, body: String) -> Self {
        .init(.handshakeRefused(url, status: status, body: body))
    }
    static func closed(_ info: CloseInfo) -> Self { .init(.closed(info)) }
    static func protocolViolation(_ reason: String) -> Self { .init(.protocolViolation(reason)) }

    /// The HTTP status of a refused handshake, so callers can tell "wrong token" (401) from a lost network.
    public var refusedStatus: Int? {
        if case .handshakeRefused(_, let status, _) = kind { return status }
        return nil
    }

    /// How the connection closed, when that is the error.
    public var closeInfo: CloseInfo? {
        if case .closed(let info) = kind { return info }
        return nil
    }

    public var description: String {
        switch kind {
        case .invalidURL(let url, let reason):
            "invalid URL \(url): \(reason)"
        case .connectionFailed(let url, let underlying):
            "cannot connect to \(url): \(underlying)"
        case .handshakeRefused(let url, let status, let body):
            "\(url) refused the WebSocket handshake with HTTP \(status)\(body.isEmpty ? "" : ": \(body)")"
        case .closed(let info):
            "connection closed: \(info)"
        case .protocolViolation(let reason):
            "protocol error: \(reason)"
        }
    }
}
