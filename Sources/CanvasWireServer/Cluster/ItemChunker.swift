import NIOCore

/// Splits an item (a frame message or a control message's JSON) into NATS messages no larger than
/// the server's `max_payload`: each one an envelope and a slice of the item, so the item's bytes
/// are never copied on the way out.
///
/// With nats-server's default `max_payload` of 1 MiB a 640x360 frame (921,632 bytes) fits in one
/// message and a 1080p frame (8,294,432 bytes) takes eight.
struct ItemChunker: Sendable {
    /// The largest message body the server takes, envelope included.
    let maxPayload: Int

    init(maxPayload: Int) {
        precondition(maxPayload > ClusterEnvelope.length, "max_payload \(maxPayload) leaves no room for a chunk")
        self.maxPayload = maxPayload
    }

    /// Bytes of the item each message carries, after the envelope.
    var bytesPerChunk: Int { maxPayload - ClusterEnvelope.length }

    /// The messages for `item`, first to last; an empty item is one message with no body.
    func chunks(
        of item: ByteBuffer, kind: ClusterEnvelope.Kind, epoch: UInt64, number: UInt64,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> [(envelope: ByteBuffer, body: ByteBuffer)] {
        let total = item.readableBytes
        var chunks: [(ByteBuffer, ByteBuffer)] = []
        chunks.reserveCapacity(max(1, (total + bytesPerChunk - 1) / bytesPerChunk))
        var offset = 0
        repeat {
            let length = min(bytesPerChunk, total - offset)
            let envelope = ClusterEnvelope(kind: kind, epoch: epoch, number: number, itemLength: total, offset: offset)
            chunks.append((envelope.encoded(allocator: allocator), item.getSlice(at: item.readerIndex + offset, length: length)!))
            offset += length
        } while offset < total
        return chunks
    }
}
