import Synchronization

/// The messages of a subscription as an `AsyncSequence`; see ``NATSConnection/subscribe(to:queueGroup:)``.
public struct NATSMessageStream: AsyncSequence, Sendable {
    /// Each message, in the order the server sent them.
    public typealias Element = NATSMessage

    final class DropCounter: Sendable {
        let count = Atomic<Int>(0)
    }

    /// The subscription behind the stream, to end it or limit it.
    public let subscription: NATSSubscription
    let stream: AsyncStream<NATSMessage>
    let dropCounter: DropCounter

    /// Messages dropped because ``NATSConfiguration/streamBufferMessages`` were already waiting for
    /// the consumer.
    public var droppedMessages: Int { dropCounter.count.load(ordering: .relaxed) }

    /// One iterator at a time: the stream has a single consumer.
    public func makeAsyncIterator() -> AsyncStream<NATSMessage>.Iterator {
        stream.makeAsyncIterator()
    }
}
