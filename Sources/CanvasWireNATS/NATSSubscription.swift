import NIOCore
import Synchronization

/// A live subscription: end it with ``unsubscribe()`` or after a number of messages.
public struct NATSSubscription: Sendable {
    let connection: NATSConnection
    /// The subscription id, kept across reconnects so the server's view and ours stay the same.
    let sid: Int
    public let subject: String

    /// Stops delivery at once; messages already on their way are discarded.
    public func unsubscribe() {
        let (entry, channel) = connection.state.withLock { state in
            (state.subscriptions.removeValue(forKey: sid), state.link?.channel)
        }
        guard let entry else { return }
        channel?.writeAndFlush(NATSOutbound.bytes(NATSCommand.unsubscribe(sid: sid)), promise: nil)
        entry.finish()
    }

    /// Ends the subscription once it has delivered `count` messages in all (those delivered already
    /// included), both here and on the server, so no message beyond them is sent.
    public func unsubscribe(afterMessages count: Int) {
        let (ended, command, channel) = connection.state.withLock { state -> (SubscriptionEntry?, ByteBuffer?, (any Channel)?) in
            guard var entry = state.subscriptions[sid] else { return (nil, nil, nil) }
            guard entry.delivered < count else {
                state.subscriptions[sid] = nil
                return (entry, NATSCommand.unsubscribe(sid: sid), state.link?.channel)
            }
            entry.maxMessages = count
            state.subscriptions[sid] = entry
            // The server counts the messages it sent since this subscription reached it.
            return (nil, NATSCommand.unsubscribe(sid: sid, after: count - entry.deliveredBeforeLink), state.link?.channel)
        }
        if let command { channel?.writeAndFlush(NATSOutbound.bytes(command), promise: nil) }
        ended?.finish()
    }
}

/// The messages of a subscription as an `AsyncSequence`; see ``NATSConnection/subscribe(to:queueGroup:)``.
public struct NATSMessageStream: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    final class DropCounter: Sendable {
        let count = Atomic<Int>(0)
    }

    public let subscription: NATSSubscription
    let stream: AsyncStream<NATSMessage>
    let dropCounter: DropCounter

    /// Messages dropped because ``NATSConfiguration/streamBufferMessages`` were already waiting for
    /// the consumer.
    public var droppedMessages: Int { dropCounter.count.load(ordering: .relaxed) }

    public func makeAsyncIterator() -> AsyncStream<NATSMessage>.Iterator {
        stream.makeAsyncIterator()
    }
}

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
