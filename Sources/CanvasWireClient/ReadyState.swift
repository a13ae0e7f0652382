/// The state of a connection, numbered as the browser's `WebSocket.readyState` is.
public enum ReadyState: Int, Sendable, CustomStringConvertible {
    case connecting = 0
    case open = 1
    case closing = 2
    case closed = 3

    public var description: String {
        switch self {
        case .connecting: "CONNECTING"
        case .open: "OPEN"
        case .closing: "CLOSING"
        case .closed: "CLOSED"
        }
    }
}

/// How a connection ended, as the browser's `CloseEvent` reports it.
public struct CloseInfo: Sendable, Hashable, CustomStringConvertible {
    /// The close code the peer sent, 1005 if its close frame had none, 1006 if no close frame arrived.
    public var code: UInt16
    public var reason: String
    /// Whether both close frames were exchanged before the connection ended.
    public var wasClean: Bool

    public init(code: UInt16, reason: String, wasClean: Bool) {
        self.code = code
        self.reason = reason
        self.wasClean = wasClean
    }

    public var description: String {
        "code \(code)\(reason.isEmpty ? "" : " (\(reason))")\(wasClean ? "" : ", not clean")"
    }
}
