import NIOCore
import Synchronization

/// A subscription as the connection keeps it, to deliver its messages and renew it after a reconnect.
struct SubscriptionEntry {
    var subject: String
    var queueGroup: String?
    /// The total after which it ends, if any.
    var maxMessages: Int?
    var delivered = 0
    /// ``delivered`` when the subscription last reached a server: that server counts from there.
    var deliveredBeforeLink = 0
    let deliver: @Sendable (NATSMessage) -> Void
    /// Ends the subscriber's view (an `AsyncSequence` finishes); called once, outside any lock.
    let finish: @Sendable () -> Void

    init(subject: String, queueGroup: String?, deliver: @escaping @Sendable (NATSMessage) -> Void, finish: @escaping @Sendable () -> Void) {
        self.subject = subject
        self.queueGroup = queueGroup
        self.deliver = deliver
        self.finish = finish
    }

    /// `SUB`, and `UNSUB` with what is left of its limit, to renew it on a new connection.
    func commands(sid: Int) -> [ByteBuffer] {
        // The subject and queue group were validated when it was created.
        let subscribe = try! NATSCommand.subscribe(subject: subject, queueGroup: queueGroup, sid: sid)
        guard let maxMessages else { return [subscribe] }
        return [subscribe, NATSCommand.unsubscribe(sid: sid, after: maxMessages - delivered)]
    }
}

extension NATSConnection {
    /// Hands a received message to its subscription, on the event loop.
    func deliver(_ message: NATSMessage) {
        let (deliver, finish) = state.withLock { state -> ((@Sendable (NATSMessage) -> Void)?, (@Sendable () -> Void)?) in
            guard var entry = state.subscriptions[message.sid] else { return (nil, nil) }
            entry.delivered += 1
            if let max = entry.maxMessages, entry.delivered >= max {
                state.subscriptions[message.sid] = nil
                return (entry.deliver, entry.finish)
            }
            state.subscriptions[message.sid] = entry
            return (entry.deliver, nil)
        }
        deliver?(message)
        finish?()
    }
}
