import NIOCore

/// The 32 bytes in front of every message a node publishes about a stream, little-endian like the
/// frame header:
///
/// | bytes | field |
/// |---|---|
/// | 0..3 | `CWX1` |
/// | 4 | kind (``Kind``) |
/// | 5..7 | reserved, zero |
/// | 8..15 | epoch: the origin's session, new each time its bridge attaches |
/// | 16..23 | number: the item's place in the epoch (frames and controls), or what the kind says |
/// | 24..27 | length of the whole item (all chunks) |
/// | 28..31 | offset of this chunk in the item |
///
/// A binary prefix rather than NATS headers: parsing 32 fixed bytes costs nothing per chunk, and
/// the body that follows is a slice of the frame the origin already holds, so nothing is copied.
struct ClusterEnvelope: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        /// A piece of a frame message (the v1 header and payload, exactly as viewers receive it).
        case frameChunk = 1
        /// A control message (`publisher`, `end`) as its JSON; always one chunk.
        case control = 2
        /// The origin is alive; `number` is the last item it published. No body.
        case beat = 3
        /// To one node: where the stream stands (``OriginWelcome`` JSON); `number` is the anchor.
        case welcome = 4
        /// To one node: a piece of the frame that came with a welcome.
        case snapshotChunk = 5
    }

    static let magic: [UInt8] = Array("CWX1".utf8)
    static let length = 32

    var kind: Kind
    var epoch: UInt64
    var number: UInt64
    var itemLength: Int
    var offset: Int

    init(kind: Kind, epoch: UInt64, number: UInt64, itemLength: Int = 0, offset: Int = 0) {
        self.kind = kind
        self.epoch = epoch
        self.number = number
        self.itemLength = itemLength
        self.offset = offset
    }

    /// The 32 bytes, in a buffer of their own.
    func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.length)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(kind.rawValue)
        buffer.writeRepeatingByte(0, count: 3)
        buffer.writeInteger(epoch, endianness: .little)
        buffer.writeInteger(number, endianness: .little)
        buffer.writeInteger(UInt32(itemLength), endianness: .little)
        buffer.writeInteger(UInt32(offset), endianness: .little)
        return buffer
    }

    /// Reads the envelope off the front of `message`, leaving the body readable.
    ///
    /// - Throws: ``ClusterError`` for anything that is not a well-formed envelope: a node from
    ///   another version or something else publishing on the cluster's subjects.
    static func read(from message: inout ByteBuffer) throws(ClusterError) -> ClusterEnvelope {
        guard message.readableBytes >= length,
            message.readableBytesView.prefix(4).elementsEqual(magic)
        else { throw .malformedMessage("no CWX1 envelope") }
        message.moveReaderIndex(forwardBy: 4)
        let rawKind: UInt8 = message.readInteger()!
        guard let kind = Kind(rawValue: rawKind) else { throw .malformedMessage("unknown kind \(rawKind)") }
        message.moveReaderIndex(forwardBy: 3)
        let epoch: UInt64 = message.readInteger(endianness: .little)!
        let number: UInt64 = message.readInteger(endianness: .little)!
        let itemLength = Int(message.readInteger(endianness: .little, as: UInt32.self)!)
        let offset = Int(message.readInteger(endianness: .little, as: UInt32.self)!)
        guard offset + message.readableBytes <= itemLength || (itemLength == 0 && message.readableBytes == 0) else {
            throw .malformedMessage("chunk at \(offset) of \(message.readableBytes) bytes overruns its item of \(itemLength)")
        }
        return ClusterEnvelope(kind: kind, epoch: epoch, number: number, itemLength: itemLength, offset: offset)
    }
}
