public import NIOCore

/// A message delivered to a subscription (`MSG` or `HMSG`).
///
/// `payload` is a slice of the buffer the socket read when the whole message arrived in one read,
/// so a relay can hand it on without copying; a message that spanned reads was gathered once.
public struct NATSMessage: Sendable, Equatable {
    /// The subject it was published to (for a wildcard subscription, the concrete one).
    public var subject: String
    /// Where the publisher wants an answer, if anywhere.
    public var replyTo: String?
    /// The header block, for messages sent with headers (`HMSG`).
    public var headers: NATSHeaders?
    /// The body, headers excluded: a slice of the read buffer when it arrived whole in one read.
    public var payload: ByteBuffer
    /// The subscription id the server delivered it for.
    let sid: Int

    init(subject: String, sid: Int, replyTo: String?, headers: NATSHeaders?, payload: ByteBuffer) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// True for the server's "no responders" answer to a request: status 503 and nothing else.
    var isNoRespondersStatus: Bool {
        headers?.status == 503 && payload.readableBytes == 0
    }
}
