import NIOCore
import Synchronization

/// Requests waiting for their reply, all answered through one subscription, `_INBOX.<random>.*`,
/// instead of one subscription (two extra protocol lines) per request.
final class RequestMux: Sendable {
    /// `_INBOX.<22 random characters>.`; each request appends its own token.
    let prefix: String
    private let waiting = Mutex<(nextToken: Int, promises: [String: EventLoopPromise<NATSMessage>])>((0, [:]))

    init() {
        prefix = NATSConnection.newInbox() + "."
    }

    var subscriptionSubject: String { prefix + "*" }

    /// Registers a request's promise and returns the reply subject it must be sent with.
    func register(_ promise: EventLoopPromise<NATSMessage>) -> String {
        waiting.withLock { waiting in
            waiting.nextToken += 1
            let token = String(waiting.nextToken, radix: 36)
            waiting.promises[token] = promise
            return prefix + token
        }
    }

    /// Completes the request the message answers; later answers to it are ignored.
    @Sendable func complete(_ message: NATSMessage) {
        let token = String(message.subject.dropFirst(prefix.count))
        waiting.withLock { $0.promises.removeValue(forKey: token) }?.succeed(message)
    }

    func fail(_ replyTo: String, _ error: NATSError) {
        waiting.withLock { $0.promises.removeValue(forKey: String(replyTo.dropFirst(prefix.count))) }?.fail(error)
    }

    /// Fails every waiting request: the connection that would carry their replies is gone.
    func failAll(_ error: NATSError) {
        let promises = waiting.withLock { waiting in
            defer { waiting.promises = [:] }
            return waiting.promises.values
        }
        for promise in promises { promise.fail(error) }
    }
}
