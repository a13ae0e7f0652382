import CanvasWireCore
import NIOCore
import Testing

@testable import CanvasWireServer

/// Frames cross nodes in chunks that fit the NATS server's max_payload, and come back whole or not at all.
@Suite struct ClusterChunkingTests {
    static let oneMiB = 1 << 20

    /// A 1080p frame message whose every byte differs from its neighbours'.
    static func frame1080p() -> ByteBuffer {
        let header = FrameHeader(pixelFormat: .rgba8, width: 1920, height: 1080, sequence: 7, captureTimeMicros: 42)
        var buffer = ByteBuffer(bytes: header.v1Bytes)
        var pixels = [UInt8](repeating: 0, count: 1920 * 1080 * 4)
        for index in pixels.indices {
            pixels[index] = UInt8(truncatingIfNeeded: (index &* 2_654_435_761) >> 13)
        }
        buffer.writeBytes(pixels)
        return buffer
    }

    /// What a subscriber receives: the envelope and the body in one message, read back apart.
    static func wire(_ chunk: (envelope: ByteBuffer, body: ByteBuffer)) throws -> (ClusterEnvelope, ByteBuffer) {
        var message = chunk.envelope
        var body = chunk.body
        message.writeBuffer(&body)
        let envelope = try ClusterEnvelope.read(from: &message)
        return (envelope, message)
    }

    @Test func envelopeRoundTrips() throws {
        let envelope = ClusterEnvelope(kind: .snapshotChunk, epoch: .max - 3, number: 1 << 40, itemLength: 5000, offset: 4000)
        var message = envelope.encoded()
        message.writeRepeatingByte(9, count: 1000)
        let read = try ClusterEnvelope.read(from: &message)
        #expect(read == envelope)
        #expect(message.readableBytes == 1000)
    }

    static let malformed: [(String, [UInt8])] = [
        ("short", [UInt8](repeating: 0x43, count: 10)),
        ("bad magic", Array("CWX2".utf8) + [UInt8](repeating: 0, count: 28)),
        ("unknown kind", Array("CWX1".utf8) + [9] + [UInt8](repeating: 0, count: 27)),
    ]

    @Test(arguments: malformed)
    func malformedEnvelopesAreRefused(name: String, bytes: [UInt8]) {
        #expect(throws: ClusterError.self) {
            var message = ByteBuffer(bytes: bytes)
            _ = try ClusterEnvelope.read(from: &message)
        }
    }

    @Test func aChunkThatOverrunsItsItemIsRefused() {
        #expect(throws: ClusterError.self) {
            var message = ClusterEnvelope(kind: .frameChunk, epoch: 1, number: 1, itemLength: 100, offset: 90).encoded()
            message.writeRepeatingByte(0, count: 20)
            _ = try ClusterEnvelope.read(from: &message)
        }
    }

    @Test func a1080pFrameIsReassembledByteForByteFromChunksOfOneMiB() throws {
        let frame = Self.frame1080p()
        let chunks = ItemChunker(maxPayload: Self.oneMiB).chunks(of: frame, kind: .frameChunk, epoch: 5, number: 12)
        #expect(chunks.count == 8, "8,294,432 bytes in 1 MiB messages")
        #expect(chunks.allSatisfy { $0.envelope.readableBytes + $0.body.readableBytes <= Self.oneMiB })
        var reassembler = ItemReassembler()
        var items: [ItemReassembler.Item] = []
        for chunk in chunks {
            let (envelope, body) = try Self.wire(chunk)
            if let item = reassembler.accept(envelope, body: body, allocator: ByteBufferAllocator()) { items.append(item) }
        }
        let item = try #require(items.first)
        #expect(items.count == 1)
        #expect((item.kind, item.epoch, item.number) == (.frameChunk, 5, 12))
        #expect(item.body == frame)
        #expect(reassembler.incompleteItems == 0)
    }

    @Test func chunksAreSlicesOfTheFrameNotCopies() {
        let frame = Self.frame1080p()
        let chunks = ItemChunker(maxPayload: Self.oneMiB).chunks(of: frame, kind: .frameChunk, epoch: 1, number: 1)
        frame.withUnsafeReadableBytes { whole in
            chunks[1].body.withUnsafeReadableBytes { piece in
                #expect(piece.baseAddress == whole.baseAddress! + ItemChunker(maxPayload: Self.oneMiB).bytesPerChunk)
            }
        }
    }

    @Test func aFrameThatFitsOneMessageComesBackAsThatMessagesBody() throws {
        let frame = ByteBuffer(bytes: (0..<(640 * 360 * 4 + 32)).map { UInt8(truncatingIfNeeded: $0) })
        let chunks = ItemChunker(maxPayload: Self.oneMiB).chunks(of: frame, kind: .frameChunk, epoch: 1, number: 3)
        #expect(chunks.count == 1)
        let (envelope, body) = try Self.wire(chunks[0])
        var reassembler = ItemReassembler()
        let accepted = reassembler.accept(envelope, body: body, allocator: ByteBufferAllocator())
        let item = try #require(accepted)
        #expect(item.body == frame)
        item.body.withUnsafeReadableBytes { reassembled in
            body.withUnsafeReadableBytes { received in #expect(reassembled.baseAddress == received.baseAddress) }
        }
    }

    @Test func anEmptyItemIsOneMessage() throws {
        let chunks = ItemChunker(maxPayload: 100).chunks(of: ByteBuffer(), kind: .control, epoch: 1, number: 1)
        #expect(chunks.count == 1)
        let (envelope, body) = try Self.wire(chunks[0])
        var reassembler = ItemReassembler()
        let item = reassembler.accept(envelope, body: body, allocator: ByteBufferAllocator())
        #expect(item?.body.readableBytes == 0)
    }

    @Test func aFrameMissingAChunkIsDroppedAndTheNextOneStillArrives() throws {
        let chunker = ItemChunker(maxPayload: 1000)
        let first = ByteBuffer(bytes: [UInt8](repeating: 1, count: 3000))
        let second = ByteBuffer(bytes: [UInt8](repeating: 2, count: 2500))
        var arriving = chunker.chunks(of: first, kind: .frameChunk, epoch: 1, number: 1)
        arriving.remove(at: 2)  // lost between nodes
        arriving += chunker.chunks(of: second, kind: .frameChunk, epoch: 1, number: 2)
        var reassembler = ItemReassembler()
        var items: [ItemReassembler.Item] = []
        for chunk in arriving {
            let (envelope, body) = try Self.wire(chunk)
            if let item = reassembler.accept(envelope, body: body, allocator: ByteBufferAllocator()) { items.append(item) }
        }
        #expect(items.map(\.number) == [2], "the incomplete frame is never delivered")
        #expect(items.first?.body == second)
        #expect(reassembler.incompleteItems == 1)
    }

    @Test func aLostLastChunkIsNoticedWhenTheNextItemStarts() throws {
        let chunker = ItemChunker(maxPayload: 1000)
        var arriving = chunker.chunks(of: ByteBuffer(bytes: [UInt8](repeating: 1, count: 1900)), kind: .frameChunk, epoch: 1, number: 1)
        arriving.removeLast()
        arriving += chunker.chunks(of: ByteBuffer(string: "{}"), kind: .control, epoch: 1, number: 2)
        var reassembler = ItemReassembler()
        var items: [ItemReassembler.Item] = []
        for chunk in arriving {
            let (envelope, body) = try Self.wire(chunk)
            if let item = reassembler.accept(envelope, body: body, allocator: ByteBufferAllocator()) { items.append(item) }
        }
        #expect(items.map(\.kind) == [.control])
        #expect(reassembler.incompleteItems == 1)
    }

    @Test func streamNamesMapToSubjectTokensOneToOne() throws {
        let subjects = ClusterSubjects(prefix: "cw")
        let dotted = try #require(StreamName("a.b..c"))
        #expect(subjects.data(dotted) == "cw.s.a=b==c.d")
        #expect(subjects.key(dotted) == "a=b==c")
        #expect(ClusterSubjects.streamName(forToken: "a=b==c") == dotted)
        #expect(subjects.inbox(node: "n1", try #require(StreamName("cam"))) == "cw.n.n1.cam")
    }
}
