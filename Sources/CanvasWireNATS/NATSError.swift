/// Why a NATS operation failed, with a one-line description that says what to do about it.
///
/// A struct around a private enum, so that new reasons do not break callers' `switch`es; callers
/// that must branch ask the properties (``isWrongLastSequence``, ``isNotConnected``, ``isTimeout``,
/// ``serverError``, ``jetStreamError``).
public struct NATSError: Error, Sendable, CustomStringConvertible {
    /// What JetStream answered in its `{"error": {"code", "err_code", "description"}}` object.
    public struct JetStreamAPIError: Sendable, Equatable {
        /// The HTTP-like status, for example 400, 404 or 503.
        public var code: Int
        /// JetStream's own error number, for example 10071 for "wrong last sequence".
        public var errorCode: Int
        /// JetStream's own words, for example `wrong last sequence: 5`.
        public var description: String
    }

    private enum Kind: Sendable {
        case invalidURL(String, reason: String)
        case invalidArgument(String)
        indirect case connectionFailed(String, last: NATSError?)
        case notConnected
        case closed
        case connectionLost(String)
        case payloadTooLarge(bytes: Int, maxPayload: Int)
        case protocolViolation(String)
        case serverError(String)
        case timeout(String)
        case noResponders(subject: String)
        case jetStream(JetStreamAPIError)
        case unexpectedReply(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func invalidURL(_ url: String, reason: String) -> Self { .init(.invalidURL(url, reason: reason)) }
    static func invalidArgument(_ reason: String) -> Self { .init(.invalidArgument(reason)) }
    static func connectionFailed(_ summary: String, last: NATSError? = nil) -> Self {
        .init(.connectionFailed(summary, last: last))
    }
    static let notConnected = Self(.notConnected)
    static let closed = Self(.closed)
    static func connectionLost(_ reason: String) -> Self { .init(.connectionLost(reason)) }
    static func payloadTooLarge(bytes: Int, maxPayload: Int) -> Self {
        .init(.payloadTooLarge(bytes: bytes, maxPayload: maxPayload))
    }
    static func protocolViolation(_ reason: String) -> Self { .init(.protocolViolation(reason)) }
    static func serverError(_ text: String) -> Self { .init(.serverError(text)) }
    static func timeout(_ what: String) -> Self { .init(.timeout(what)) }
    static func noResponders(subject: String) -> Self { .init(.noResponders(subject: subject)) }
    static func jetStream(_ error: JetStreamAPIError) -> Self { .init(.jetStream(error)) }
    static func unexpectedReply(_ reason: String) -> Self { .init(.unexpectedReply(reason)) }

    /// JetStream's error number for an expected-last-sequence check that failed.
    static let wrongLastSequenceErrorCode = 10071

    /// The write was refused because the connection is between servers; nothing was buffered, so
    /// the caller decides what to drop or retry.
    public var isNotConnected: Bool {
        if case .notConnected = kind { return true }
        return false
    }

    /// A request or flush got no answer in time.
    public var isTimeout: Bool {
        if case .timeout = kind { return true }
        return false
    }

    /// Nobody subscribes to the subject a request went to (the server's 503 status).
    public var isNoResponders: Bool {
        if case .noResponders = kind { return true }
        return false
    }

    /// A key-value write whose expected revision was not the key's latest: someone else wrote the
    /// key first (for `create`, the key exists). The cluster reads this as "another node holds it".
    public var isWrongLastSequence: Bool {
        jetStreamError?.errorCode == Self.wrongLastSequenceErrorCode
    }

    /// The text of a `-ERR` from the server, such as `Authorization Violation` or `Slow Consumer`
    /// (also when it is why connecting failed).
    public var serverError: String? {
        switch kind {
        case .serverError(let text): text
        case .connectionFailed(_, let last?): last.serverError
        default: nil
        }
    }

    /// The error JetStream returned, when that is the reason.
    public var jetStreamError: JetStreamAPIError? {
        if case .jetStream(let error) = kind { return error }
        return nil
    }

    /// The reason alone, without the advice, to list several of them in one message.
    var shortReason: String {
        switch kind {
        case .connectionFailed(let summary, _): summary
        case .connectionLost(let reason): reason
        case .serverError(let text): "-ERR '\(text)'"
        default: description
        }
    }

    /// What went wrong and what to do about it, in one line.
    public var description: String {
        switch kind {
        case .invalidURL(let url, let reason):
            "invalid NATS URL \(url): \(reason); use nats://host:port"
        case .invalidArgument(let reason):
            reason
        case .connectionFailed(let summary, _):
            "cannot connect to NATS: \(summary); check that nats-server is running and reachable"
        case .notConnected:
            "not connected to NATS (reconnecting); nothing was sent, drop or retry the message"
        case .closed:
            "the NATS connection was closed by its owner; open a new one"
        case .connectionLost(let reason):
            "the NATS connection was lost before the answer arrived (\(reason)); retry after it reconnects"
        case .payloadTooLarge(let bytes, let maxPayload):
            "message of \(bytes) bytes exceeds the server's max_payload of \(maxPayload) bytes; "
                + "split it into chunks or raise max_payload in the nats-server configuration"
        case .protocolViolation(let reason):
            "NATS protocol error: \(reason); the connection was dropped and will be re-established"
        case .serverError(let text):
            "nats-server reported -ERR '\(text)'"
        case .timeout(let what):
            "no answer to \(what) in time; check that a responder is running, or raise the timeout"
        case .noResponders(let subject):
            "no responders for \(subject): nothing subscribes to it (is JetStream enabled, does the bucket exist?)"
        case .jetStream(let error):
            "JetStream error \(error.code)/\(error.errorCode): \(error.description)"
        case .unexpectedReply(let reason):
            "unexpected reply from nats-server: \(reason)"
        }
    }
}
