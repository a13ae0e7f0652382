import NIOCore
import Synchronization

/// A live subscription: end it with ``unsubscribe()`` or after a number of messages.
public struct NATSSubscription: Sendable {
    let connection: NATSConnection
    /// The subscription id, kept across reconnects so the server's view and ours stay the same.
    let sid: Int
    /// What it subscribes to, as given.
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
