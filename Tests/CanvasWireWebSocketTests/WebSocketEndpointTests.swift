import NIOCore
import NIOWebSocket
import Testing

@testable import CanvasWireWebSocket

/// The RFC 6455 rules of ``WebSocketEndpoint``, driven directly: no channel, no socket, no clock but
/// the one the test passes in.
@Suite struct WebSocketEndpointTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let key: WebSocketMaskingKey = [1, 2, 3, 4]

    func endpoint(_ role: WebSocketEndpoint.Role = .server, compression: Bool = false) -> WebSocketEndpoint {
        WebSocketEndpoint(
            configuration: .init(role: role, maxFragmentsPerMessage: 4, deadPeerTimeout: .seconds(60), compressionNegotiated: compression),
            now: Self.start
        )
    }

    /// A control frame as the decoder hands it on: masked as a client sends it unless `role` is the server's.
    func control(_ opcode: WebSocketOpcode, _ bytes: [UInt8] = [], from role: WebSocketEndpoint.Role = .client, rsv1: Bool = false) -> IncomingFramePart {
        var data = ByteBuffer(bytes: bytes)
        let key = role == .client ? Self.key : nil
        if let key { data.webSocketMask(key) }
        return .control(WebSocketFrame(fin: true, rsv1: rsv1, opcode: opcode, maskKey: key, data: data))
    }

    func dataFrame(
        _ opcode: WebSocketOpcode, length: Int, fin: Bool = true, from role: WebSocketEndpoint.Role = .client,
        rsv1: Bool = false, rsv2: Bool = false
    ) -> IncomingFramePart {
        .dataFrame(IncomingFrameHeader(
            fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: false, opcode: opcode, maskKey: role == .client ? Self.key : nil, length: length
        ))
    }

    func closeBody(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
    }

    /// The close code the endpoint fails the connection with, `nil` when it does not fail it.
    func failCode(_ action: WebSocketEndpoint.Inbound) -> UInt16? {
        if case .fail(let payload?) = action { return payload.code }
        return nil
    }

    // MARK: Messages

    @Test func aMaskedMessageArrivesInPiecesThatUnmaskTheOriginal() {
        var endpoint = endpoint()
        let text = Array("Hello, world!".utf8)
        var masked = ByteBuffer(bytes: text)
        masked.webSocketMask(Self.key)
        guard case .messageStarted(let start) = endpoint.receive(dataFrame(.text, length: text.count), now: Self.start) else {
            Issue.record("expected a message start")
            return
        }
        #expect(start == .init(kind: .text, compressed: false, firstFrameLength: text.count, isSingleFrame: true))
        var unmasked = ByteBuffer()
        for (offset, length, last) in [(0, 5, false), (5, 8, true)] {
            let slice = masked.getSlice(at: offset, length: length)!
            guard case .messagePiece(let piece, let ends) = endpoint.receive(.payload(slice, maskOffset: offset, endsFrame: last), now: Self.start) else {
                Issue.record("expected a piece")
                return
            }
            #expect(ends == last)
            piece.write(into: &unmasked)
        }
        #expect(Array(unmasked.readableBytesView) == text)
    }

    @Test func fragmentsBeyondTheLimitFailWith1009() {
        var endpoint = endpoint()
        _ = endpoint.receive(dataFrame(.binary, length: 0, fin: false), now: Self.start)
        _ = endpoint.receive(.payload(ByteBuffer(), maskOffset: 0, endsFrame: true), now: Self.start)
        for _ in 1..<4 {
            #expect(failCode(endpoint.receive(dataFrame(.continuation, length: 0, fin: false), now: Self.start)) == nil)
            _ = endpoint.receive(.payload(ByteBuffer(), maskOffset: 0, endsFrame: true), now: Self.start)
        }
        #expect(failCode(endpoint.receive(dataFrame(.continuation, length: 0, fin: false), now: Self.start)) == 1009)
    }

    @Test func continuationWithoutAMessageFailsWith1002() {
        var endpoint = endpoint()
        #expect(failCode(endpoint.receive(dataFrame(.continuation, length: 1), now: Self.start)) == 1002)
    }

    @Test func aNewMessageInsideAFragmentedOneFailsWith1002() {
        var endpoint = endpoint()
        _ = endpoint.receive(dataFrame(.text, length: 0, fin: false), now: Self.start)
        _ = endpoint.receive(.payload(ByteBuffer(), maskOffset: 0, endsFrame: true), now: Self.start)
        #expect(failCode(endpoint.receive(dataFrame(.binary, length: 0), now: Self.start)) == 1002)
    }

    // MARK: Framing by role

    @Test func theServerFailsUnmaskedFramesAndTheClientMaskedOnes() {
        var server = endpoint(.server)
        #expect(failCode(server.receive(dataFrame(.binary, length: 1, from: .server), now: Self.start)) == 1002)
        var client = endpoint(.client)
        #expect(failCode(client.receive(dataFrame(.binary, length: 1, from: .client), now: Self.start)) == 1002)
        var fine = endpoint(.client)
        #expect(failCode(fine.receive(dataFrame(.binary, length: 1, from: .server), now: Self.start)) == nil)
    }

    @Test func reservedBitsFailUnlessCompressionDefinesRSV1OnAFirstFrame() {
        var plain = endpoint()
        #expect(failCode(plain.receive(dataFrame(.binary, length: 1, rsv1: true), now: Self.start)) == 1002)
        var other = endpoint(compression: true)
        #expect(failCode(other.receive(dataFrame(.binary, length: 1, rsv2: true), now: Self.start)) == 1002)
        var compressed = endpoint(compression: true)
        guard case .messageStarted(let start) = compressed.receive(dataFrame(.binary, length: 1, fin: false, rsv1: true), now: Self.start) else {
            Issue.record("a compressed first frame starts a message")
            return
        }
        #expect(start.compressed)
        _ = compressed.receive(.payload(ByteBuffer(bytes: [0]), maskOffset: 0, endsFrame: true), now: Self.start)
        #expect(failCode(compressed.receive(dataFrame(.continuation, length: 1, rsv1: true), now: Self.start)) == 1002)
        var controlFrame = endpoint(compression: true)
        #expect(failCode(controlFrame.receive(control(.ping, rsv1: true), now: Self.start)) == 1002)
    }

    @Test(arguments: [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] as [UInt8])
    func reservedOpcodesFailWith1002(_ opcode: UInt8) {
        var endpoint = endpoint()
        let frame = WebSocketOpcode(encodedWebSocketOpcode: opcode)!
        let part = opcode & 0x8 != 0 ? control(frame) : dataFrame(frame, length: 0)
        #expect(failCode(endpoint.receive(part, now: Self.start)) == 1002)
    }

    @Test func nothingAfterAFailureIsActedOn() {
        var endpoint = endpoint()
        #expect(failCode(endpoint.receive(dataFrame(.binary, length: 1, rsv2: true), now: Self.start)) == 1002)
        #expect(endpoint.isFinished)
        if case .none = endpoint.receive(control(.ping, [1]), now: Self.start) {} else { Issue.record("a ping after a failure was answered") }
        if case .none = endpoint.receive(dataFrame(.text, length: 1), now: Self.start) {} else { Issue.record("a message after a failure started") }
        if case .none = endpoint.receive(control(.connectionClose, closeBody(1000)), now: Self.start) {} else { Issue.record("a close after a failure was answered") }
    }

    // MARK: Closing

    @Test(arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func aValidCloseIsEchoed(_ code: UInt16) {
        var endpoint = endpoint()
        guard case .replyToClose(let peer, let reply) = endpoint.receive(control(.connectionClose, closeBody(code, Array("bye".utf8))), now: Self.start) else {
            Issue.record("expected a reply to the close")
            return
        }
        #expect(peer == ClosePayload(code: code, reason: "bye"))
        #expect(reply.code == code)
        #expect(!endpoint.isOpen)
    }

    @Test(arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func aCloseWithACodeThatMayNotBeSentFailsWith1002(_ code: UInt16) {
        var endpoint = endpoint()
        #expect(failCode(endpoint.receive(control(.connectionClose, closeBody(code)), now: Self.start)) == 1002)
    }

    @Test func aCloseOfOneByteFailsWith1002AndAnInvalidReasonWith1007() {
        var short = endpoint()
        #expect(failCode(short.receive(control(.connectionClose, [0x03]), now: Self.start)) == 1002)
        var invalid = endpoint()
        #expect(failCode(invalid.receive(control(.connectionClose, closeBody(1000, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80])), now: Self.start)) == 1007)
    }

    @Test func anEmptyCloseIsAnsweredWithAnEmptyOne() {
        var endpoint = endpoint()
        guard case .replyToClose(let peer, let reply) = endpoint.receive(control(.connectionClose), now: Self.start) else {
            Issue.record("expected a reply")
            return
        }
        #expect(peer.code == nil && reply.code == nil)
    }

    @Test func ourCloseIsAnsweredOnceAndDataMeanwhileIsDiscarded() {
        var endpoint = endpoint()
        #expect(endpoint.close(ClosePayload(code: 1001, reason: "going away"))?.code == 1001)
        #expect(endpoint.close(ClosePayload(code: 1000)) == nil, "closing twice sends one close frame")
        if case .none = endpoint.receive(dataFrame(.binary, length: 1), now: Self.start) {} else { Issue.record("data after our close was delivered") }
        if case .none = endpoint.receive(.payload(ByteBuffer(bytes: [1]), maskOffset: 0, endsFrame: true), now: Self.start) {} else {
            Issue.record("data after our close was delivered")
        }
        if case .none = endpoint.receive(control(.ping), now: Self.start) {} else { Issue.record("a ping after our close was answered") }
        guard case .closeHandshakeCompleted(let peer) = endpoint.receive(control(.connectionClose, closeBody(1001)), now: Self.start) else {
            Issue.record("the peer's answer completes the handshake")
            return
        }
        #expect(peer.code == 1001)
        #expect(endpoint.isFinished)
    }

    @Test func aReasonIsCutAtACharacterBoundaryToFitTheFrame() {
        let payload = ClosePayload(code: 1008, reason: String(repeating: "é", count: 100))
        let body = payload.encoded(allocator: ByteBufferAllocator())
        #expect(body.readableBytes <= 125)
        #expect(payload.reason.utf8.count == 122, "61 two-byte characters; a 62nd would need byte 124")
        #expect((try? ClosePayload(parsing: body)) == payload, "what we send passes our own checks")
    }

    // MARK: Pings and clocks

    @Test func whileAPongIsInFlightOnlyTheLatestPingIsKept() {
        var endpoint = endpoint()
        guard case .sendPong(let first) = endpoint.receive(control(.ping, [1]), now: Self.start) else {
            Issue.record("the first ping is answered at once")
            return
        }
        #expect(Array(first.readableBytesView) == [1])
        for byte in [2, 3, 4] as [UInt8] {
            if case .none = endpoint.receive(control(.ping, [byte]), now: Self.start) {} else { Issue.record("a pong queued behind another") }
        }
        #expect(endpoint.pongWritten().map { Array($0.readableBytesView) } == [4])
        #expect(endpoint.pongWritten() == nil)
    }

    @Test func aSilentPeerIsDeadAndAnUnfinishedMessageIsClosed() {
        var endpoint = endpoint()
        #expect(endpoint.keepAlive(now: Self.start + .seconds(30)) == .sendPing)
        #expect(endpoint.keepAlive(now: Self.start + .seconds(61)) == .peerIsDead)
        endpoint.setReadingPaused(true, now: Self.start)
        #expect(endpoint.keepAlive(now: Self.start + .seconds(120)) == .none, "silence is our doing while we do not read")
        endpoint.setReadingPaused(false, now: Self.start + .seconds(120))
        _ = endpoint.receive(dataFrame(.binary, length: 10, fin: true), now: Self.start + .seconds(120))
        _ = endpoint.receive(.payload(ByteBuffer(bytes: [1]), maskOffset: 0, endsFrame: false), now: Self.start + .seconds(120))
        for second in stride(from: 130, through: 190, by: 20) {
            _ = endpoint.receive(control(.pong), now: Self.start + .seconds(Int64(second)))
        }
        guard case .closeUnfinishedMessage(let payload) = endpoint.keepAlive(now: Self.start + .seconds(190)) else {
            Issue.record("a message unfinished for longer than the timeout is closed")
            return
        }
        #expect(payload.code == 1008)
    }
}

@Suite struct UTF8ValidatorTests {
    @Test(arguments: [
        ([0x48, 0x69], true),
        ([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5], true),
        ([0xF4, 0x8F, 0xBF, 0xBF], true),  // U+10FFFF
        ([0xF4, 0x90, 0x80, 0x80], false),  // above U+10FFFF
        ([0xED, 0xA0, 0x80], false),  // a surrogate
        ([0xC0, 0xAF], false),  // overlong
        ([0xE0, 0x80, 0xAF], false),  // overlong
        ([0x80], false),  // a lone continuation byte
        ([0xFF], false),
    ] as [([UInt8], Bool)])
    func agreesWithTheStandardLibraryWhateverTheCuts(_ bytes: [UInt8], _ valid: Bool) {
        #expect((String(validating: bytes, as: UTF8.self) != nil) == valid)
        for cut in 0...bytes.count {
            var validator = UTF8Validator()
            bytes[..<cut].withUnsafeBytes { _ = validator.consume($0) }
            bytes[cut...].withUnsafeBytes { _ = validator.consume($0) }
            #expect(validator.isComplete == valid, "cut at \(cut)")
        }
    }

    @Test func anIncompleteCharacterAtTheEndIsNotComplete() {
        var validator = UTF8Validator()
        [UInt8]([0x41, 0xE2, 0x82]).withUnsafeBytes { _ = validator.consume($0) }
        #expect(validator.isValid && !validator.isComplete)
    }

    @Test func longASCIIRunsAndAFailureFarIn() {
        var bytes = [UInt8](repeating: 0x61, count: 1000)
        var validator = UTF8Validator()
        let valid = bytes.withUnsafeBytes { validator.consume($0) }
        #expect(valid)
        bytes[997] = 0xC3
        validator = UTF8Validator()
        let invalid = bytes.withUnsafeBytes { validator.consume($0) }
        #expect(!invalid)
    }
}
