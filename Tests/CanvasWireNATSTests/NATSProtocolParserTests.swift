import NIOCore
import Testing

@testable import CanvasWireNATS

/// The parser against what nats-server 2.9 sends (byte for byte as captured from it, including the
/// empty reply-to token of `MSG _INBOX.x.3 1  26`), cut into reads at every possible place.
@Suite struct NATSProtocolParserTests {
    static let info = #"INFO {"server_id":"NDDG","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576,"jetstream":true} "#

    /// A session with every kind of operation, as the server frames them.
    static let session: [UInt8] = Array((
        info + "\r\n"
            + "PING\r\n"
            + "MSG frames.cam 1 5\r\nhello\r\n"
            + "MSG _INBOX.x.3 1  26\r\n{\"stream\":\"KV_b\", \"seq\":1}\r\n"
            + "MSG a.b 7 reply.to 0\r\n\r\n"
            + "HMSG _INBOX.x.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
            + "HMSG _INBOX.x.6 1  34 34\r\nNATS/1.0 404 Message Not Found\r\n\r\n\r\n"
            + "HMSG kv.k 2 $JS.ACK.KV_b.c.1.3.2.17.0 70 72\r\nNATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\nNats-Msg-Size: 2\r\n\r\nv2\r\n"
            + "PONG\r\n+OK\r\n"
            + "-ERR 'Slow Consumer'\r\n"
            + "msg lower.case 3 1\r\nx\r\n"
    ).utf8)

    /// Feeds `bytes` in reads that end at `cuts` and collects the operations, or the error that stopped it.
    func parse(_ bytes: [UInt8], cuts: [Int] = [], maxPayload: Int = 1 << 20, maxLine: Int = 4096) -> ([NATSServerOperation], NATSError?) {
        var parser = NATSProtocolParser(maxControlLineBytes: maxLine, maxPayloadBytes: maxPayload)
        var operations: [NATSServerOperation] = []
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            var buffer = ByteBuffer(bytes: bytes[start..<end])
            start = end
            do {
                while let operation = try parser.next(from: &buffer) { operations.append(operation) }
            } catch {
                return (operations, error)
            }
            if buffer.readableBytes != 0 { Issue.record("bytes of a read left unconsumed") }
        }
        return (operations, nil)
    }

    @Test func readsEveryOperationTheServerSends() throws {
        let (operations, error) = parse(Self.session)
        #expect(error == nil)
        try #require(operations.count == 12)
        #expect(operations[0] == .info(String(Self.info.dropFirst(5).dropLast())))
        #expect(operations[1] == .ping)
        guard case .message(let hello) = operations[2], case .message(let ack) = operations[3],
              case .message(let empty) = operations[4], case .message(let noResponders) = operations[5],
              case .message(let notFound) = operations[6], case .message(let kv) = operations[7],
              case .message(let lower) = operations[11]
        else {
            Issue.record("messages expected at 2...7 and 11: \(operations)")
            return
        }
        #expect(hello.subject == "frames.cam" && hello.sid == 1 && hello.replyTo == nil && hello.headers == nil)
        #expect(String(buffer: hello.payload) == "hello")
        #expect(ack.subject == "_INBOX.x.3" && ack.replyTo == nil && ack.payload.readableBytes == 26)
        #expect(empty.sid == 7 && empty.replyTo == "reply.to" && empty.payload.readableBytes == 0)
        #expect(noResponders.headers?.status == 503 && noResponders.isNoRespondersStatus)
        #expect(notFound.headers?.status == 404 && notFound.headers?.statusDescription == "Message Not Found")
        #expect(kv.replyTo == "$JS.ACK.KV_b.c.1.3.2.17.0" && String(buffer: kv.payload) == "v2")
        #expect(kv.headers?.status == nil)
        #expect(kv.headers?.fields == [
            .init(name: "Nats-Expected-Last-Subject-Sequence", value: "0"), .init(name: "Nats-Msg-Size", value: "2"),
        ])
        #expect(kv.headers?["nats-msg-size"] == "2")
        #expect(Array(operations[8...10]) == [.pong, .ok, .error("Slow Consumer")])
        #expect(lower.subject == "lower.case" && String(buffer: lower.payload) == "x")
    }

    @Test func givesTheSameOperationsWhereverTheReadsEnd() {
        let (whole, _) = parse(Self.session)
        for cut in 1..<Self.session.count {
            let (split, error) = parse(Self.session, cuts: [cut])
            #expect(error == nil && split == whole, "one cut at byte \(cut)")
        }
        let (byteByByte, error) = parse(Self.session, cuts: Array(1..<Self.session.count))
        #expect(error == nil && byteByByte == whole, "a read for every byte")
    }

    @Test func payloadWholeInOneReadIsASliceOfThatRead() throws {
        let bytes = Array("MSG big 1 65536\r\n".utf8) + Array(ByteBuffer.pattern(65536).readableBytesView) + Array("\r\n".utf8)
        var read = ByteBuffer(bytes: bytes)
        let readStart = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        var parser = NATSProtocolParser(maxPayloadBytes: 1 << 20)
        guard case .message(let message)? = try parser.next(from: &read) else {
            Issue.record("no message")
            return
        }
        let payloadStart = message.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(payloadStart == readStart + UInt("MSG big 1 65536\r\n".utf8.count), "the payload points into the read buffer")
        #expect(message.payload == ByteBuffer.pattern(65536))
    }

    @Test func refusesAControlLineOverTheLimitBeforeItEnds() {
        let long = Array(("MSG " + String(repeating: "s", count: 5000) + " 1 1\r\nx\r\n").utf8)
        // Cut before the line's end: the parser must refuse it without waiting for the rest.
        let (operations, error) = parse(Array(long[..<4500]), cuts: [1000, 2000, 3000, 4000])
        #expect(operations.isEmpty)
        #expect(error?.description.contains("control line longer than 4096 bytes") == true)
        let (_, whole) = parse(long)
        #expect(whole?.description.contains("control line longer than 4096 bytes") == true)
    }

    @Test func refusesAPayloadOverMaxPayloadFromItsHeader() {
        let (_, error) = parse(Array("MSG a 1 1048577\r\n".utf8), maxPayload: 1 << 20)
        #expect(error?.description.contains("exceeds max_payload 1048576") == true)
        let (_, headerError) = parse(Array("HMSG a 1 20 10\r\n".utf8))
        #expect(headerError?.description.contains("header of 20 bytes") == true)
    }

    @Test(arguments: [
        "FOO bar\r\n", "MSG a 1\r\n", "MSG a x 1\r\nx\r\n", "MSG a 1 -1\r\n", "MSG a 1 1\r\nxy\r\n",
        "HMSG a 1 4 4\r\nNOPE\r\n", "HMSG a 1 16 16\r\nNATS/1.0 5x3\r\n\r\n\r\n", "\r\n",
    ])
    func refusesMalformedInput(_ text: String) {
        let (_, error) = parse(Array(text.utf8))
        #expect(error != nil, "\(text.debugDescription) must be a protocol error")
    }

    @Test func headersRoundTripThroughTheirWireForm() throws {
        var headers = NATSHeaders([("Nats-Expected-Last-Subject-Sequence", "0"), ("X", "a b: c")])
        headers.add(name: "X", value: "second")
        var block = ByteBuffer()
        try headers.write(to: &block)
        #expect(String(buffer: block) == "NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\nX: a b: c\r\nX: second\r\n\r\n")
        #expect(try NATSHeaders(parsing: block) == headers)
        #expect(headers.values(for: "x") == ["a b: c", "second"])
        var broken = NATSHeaders([("X", "line\r\nInjected: 1")])
        #expect(throws: NATSError.self) { try broken.write(to: &block) }
        broken = NATSHeaders([("Bad Name", "v")])
        #expect(throws: NATSError.self) { try broken.write(to: &block) }
    }
}
