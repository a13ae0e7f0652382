import NIOCore

/// Puts chunks back together into whole items, on the receiving node.
///
/// Chunks of one item arrive in order and back to back: the origin publishes them in one go on one
/// connection, and NATS keeps a publisher's order for each subscriber. So a chunk that does not
/// continue the item being gathered means a chunk was lost: the partial item is dropped (never
/// delivered) and counted, and gathering starts again at the next first chunk.
struct ItemReassembler {
    /// A complete item.
    struct Item: Sendable {
        var kind: ClusterEnvelope.Kind
        var epoch: UInt64
        var number: UInt64
        var body: ByteBuffer
    }

    private struct Partial {
        var kind: ClusterEnvelope.Kind
        var epoch: UInt64
        var number: UInt64
        var length: Int
        var buffer: ByteBuffer
    }

    private var partial: Partial?
    /// Items dropped because a chunk of theirs never came.
    private(set) var incompleteItems = 0

    /// Takes one chunk (the envelope already read off `body`); returns the item it completes.
    ///
    /// An item that fits in one chunk is returned as that chunk's body, without a copy.
    mutating func accept(_ envelope: ClusterEnvelope, body: ByteBuffer, allocator: ByteBufferAllocator) -> Item? {
        if envelope.offset == 0 {
            if partial != nil { incompleteItems += 1 }
            partial = nil
            if body.readableBytes == envelope.itemLength {
                return Item(kind: envelope.kind, epoch: envelope.epoch, number: envelope.number, body: body)
            }
            var buffer = allocator.buffer(capacity: envelope.itemLength)
            buffer.writeImmutableBuffer(body)
            partial = Partial(kind: envelope.kind, epoch: envelope.epoch, number: envelope.number, length: envelope.itemLength, buffer: buffer)
            return nil
        }
        guard var gathering = partial, gathering.kind == envelope.kind, gathering.epoch == envelope.epoch,
            gathering.number == envelope.number, gathering.length == envelope.itemLength,
            gathering.buffer.readableBytes == envelope.offset
        else {
            if partial != nil { incompleteItems += 1 }
            partial = nil
            return nil
        }
        partial = nil  // keeps the buffer uniquely referenced while it grows
        gathering.buffer.writeImmutableBuffer(body)
        guard gathering.buffer.readableBytes == gathering.length else {
            partial = gathering
            return nil
        }
        return Item(kind: gathering.kind, epoch: gathering.epoch, number: gathering.number, body: gathering.buffer)
    }

    /// Forgets a partial item, for example when the connection to NATS was lost in the middle of it.
    mutating func reset() {
        if partial != nil { incompleteItems += 1 }
        partial = nil
    }
}
