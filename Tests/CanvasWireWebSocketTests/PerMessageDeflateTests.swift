import NIOCore
import Testing

@testable import CanvasWireWebSocket

/// RFC 7692: negotiation by the RFC's rules, the RFC's own examples inflated, our deflate output read
/// back, and inflation that stops at a limit whatever the compression ratio.
@Suite struct PerMessageDeflateTests {
    static func offers(_ header: String) -> [WebSocketExtensionOffer] {
        WebSocketExtensionOffer.parse([header]) ?? []
    }

    // MARK: Header grammar

    @Test func parsesListsParametersAndQuotedValues() {
        let parsed = WebSocketExtensionOffer.parse([
            #"permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-other"#, "Permessage-Deflate",
        ])
        #expect(parsed == [
            .init(name: "permessage-deflate", parameters: [("client_max_window_bits", nil), ("server_max_window_bits", "10")]),
            .init(name: "x-other"),
            .init(name: "permessage-deflate"),
        ])
        #expect(WebSocketExtensionOffer.parse(["permessage-deflate; =10"]) == nil)
        #expect(WebSocketExtensionOffer.parse(["permessage-deflate; a=\"unterminated"]) == nil)
        #expect(WebSocketExtensionOffer.parse([""]) == [])
    }

    // MARK: Server

    @Test func theServerAlwaysAsksForNoContextTakeoverOnBothSides() throws {
        let (agreement, response) = try #require(PerMessageDeflate.accept(Self.offers("permessage-deflate; client_max_window_bits")))
        #expect(response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(agreement == .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15))
    }

    @Test(arguments: 8...15)
    func aRequestedServerWindowIsHonouredAndNamedInTheAnswer(_ bits: Int) throws {
        let (agreement, response) = try #require(PerMessageDeflate.accept(Self.offers("permessage-deflate; server_max_window_bits=\(bits)")))
        #expect(agreement.serverMaxWindowBits == bits)
        #expect(response.hasSuffix("server_max_window_bits=\(bits)"))
        #expect(PerMessageDeflate.compressionWindowBits(allowed: bits) == (bits == 8 ? nil : bits), "zlib cannot write an 8-bit window")
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; unknown_parameter",
        "x-webkit-deflate-frame",
    ])
    func anOfferItCannotTakeIsDeclined(_ header: String) {
        #expect(PerMessageDeflate.accept(Self.offers(header)) == nil)
    }

    @Test func theFirstAcceptableOfferWins() throws {
        let (agreement, _) = try #require(PerMessageDeflate.accept(Self.offers(
            "permessage-deflate; server_max_window_bits=20, permessage-deflate; server_max_window_bits=12, permessage-deflate"
        )))
        #expect(agreement.serverMaxWindowBits == 12)
    }

    // MARK: Client

    @Test func theClientReadsTheServersAnswer() throws {
        #expect(try PerMessageDeflate.agreement(fromResponse: []) == nil, "no header: declined")
        let agreement = try #require(try PerMessageDeflate.agreement(fromResponse: [
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        ]))
        #expect(agreement == .init(serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10))
    }

    @Test(arguments: [
        "x-unknown",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; bogus",
    ])
    func anAnswerThatBreaksTheRulesFails(_ header: String) {
        #expect(throws: PerMessageDeflate.ResponseError.self) { try PerMessageDeflate.agreement(fromResponse: [header]) }
    }

    // MARK: Inflating

    /// Inflates `bytes` in pieces of `piece`, returning the output (or `nil` when it failed).
    func inflate(_ messages: [[UInt8]], piece: Int = .max, resets: Bool = true, stopAfter limit: Int = .max) -> [[UInt8]]? {
        let inflater = MessageInflater(resetsAfterEachMessage: resets, allocator: ByteBufferAllocator())
        var results: [[UInt8]] = []
        for message in messages {
            var output: [UInt8] = []
            var offset = 0
            repeat {
                let end = min(message.count, offset + max(1, piece))
                do {
                    try inflater.inflate(ByteBuffer(bytes: message[offset..<end]), endsMessage: end == message.count) { chunk in
                        output += chunk.readableBytesView
                        return output.count <= limit
                    }
                } catch {
                    return nil
                }
                offset = end
            } while offset < message.count
            results.append(output)
        }
        return results
    }

    @Test(arguments: [1, 2, 3, 100])
    func theRFCsExamplesInflateToHelloWhateverTheCuts(_ piece: Int) {
        let hello = Array("Hello".utf8)
        #expect(inflate([[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]], piece: piece) == [hello], "7.2.3.1")
        #expect(inflate([[0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]], piece: piece) == [hello], "7.2.3.3, stored")
        #expect(inflate([[0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00]], piece: piece) == [hello], "7.2.3.4, two blocks")
        #expect(inflate([[0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]], piece: piece) == [hello], "7.2.3.5, a final block")
    }

    @Test func contextIsKeptBetweenMessagesOnlyWhenThePeerKeepsIt() {
        let hello = Array("Hello".utf8)
        // 7.2.3.2: the second message refers back into the first.
        let messages: [[UInt8]] = [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], [0xF2, 0x00, 0x11, 0x00, 0x00]]
        #expect(inflate(messages, resets: false) == [hello, hello])
        #expect(inflate(messages, resets: true) == nil, "without the window the back reference is invalid")
    }

    @Test func invalidDataFailsAndWhatFollowsAFinalBlockIsIgnored() {
        #expect(inflate([[0xFF, 0xFF, 0xFF, 0xFF]]) == nil)
        let hello = Array("Hello".utf8)
        #expect(inflate([[0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x12, 0x34], [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]], resets: false) == [hello, hello])
    }

    @Test func aBombStopsAtTheLimitAfterOneChunk() throws {
        let deflater = try MessageDeflater(windowBits: 15, level: 9)
        let zeros = ByteBuffer(repeating: 0, count: 64 << 20)  // 64 MiB of zeros compress to about 64 KiB
        let compressed = try deflater.compress(zeros, allocator: ByteBufferAllocator())
        #expect(compressed.readableBytes < 128 << 10)
        let inflater = MessageInflater(resetsAfterEachMessage: true, allocator: ByteBufferAllocator())
        var produced = 0
        try inflater.inflate(compressed, endsMessage: true) { chunk in
            produced += chunk.readableBytes
            return produced <= 1 << 20
        }
        #expect(produced <= (1 << 20) + MessageInflater.chunkSize, "inflating stopped right after the limit")
    }

    // MARK: Deflating

    @Test(arguments: [9, 12, 15])
    func whatWeCompressInflatesBackAndEndsWithoutTheFlushBlock(_ bits: Int) throws {
        let deflater = try MessageDeflater(windowBits: bits)
        var text: [UInt8] = []
        for index in 0..<20_000 { text += Array("frame \(index % 97) of a canvas; ".utf8) }
        for message in [text, [], Array("Hello".utf8)] {
            let compressed = try deflater.compress(ByteBuffer(bytes: message), allocator: ByteBufferAllocator())
            #expect(!compressed.readableBytesView.suffix(4).elementsEqual([0x00, 0x00, 0xFF, 0xFF]) || message.isEmpty)
            #expect(inflate([Array(compressed.readableBytesView)], piece: 1000) == [message])
        }
    }
}
