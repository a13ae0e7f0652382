import Synchronization

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
