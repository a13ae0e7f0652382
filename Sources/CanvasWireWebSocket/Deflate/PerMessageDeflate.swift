/// permessage-deflate (RFC 7692) as agreed in one handshake.
///
/// CanvasWire always compresses each message on its own (no context takeover on its sending side):
/// that is what lets a relay compress a frame once and send the same bytes to every viewer, and it
/// keeps no 32 KiB window per connection between messages. What it receives is inflated with the
/// context rules the peer announced.
package struct PerMessageDeflate: Equatable, Sendable {
    /// Whether the server starts every message with an empty LZ77 window.
    package var serverNoContextTakeover: Bool
    /// Whether the client starts every message with an empty LZ77 window.
    package var clientNoContextTakeover: Bool
    /// The LZ77 window (in bits, 8 to 15) the server may refer back across.
    package var serverMaxWindowBits: Int
    /// The LZ77 window (in bits, 8 to 15) the client may refer back across.
    package var clientMaxWindowBits: Int

    package static let extensionName = "permessage-deflate"

    /// The window a side compresses with, for the window its peer allows. zlib cannot write raw deflate
    /// with an 8-bit window (it silently widens it to 9), so a peer that allows only 8 bits gets no
    /// compressed messages: RFC 7692 never obliges an endpoint to compress.
    package static func compressionWindowBits(allowed: Int) -> Int? {
        allowed >= 9 ? allowed : nil
    }

    // MARK: Server

    /// The server's answer to a client's offers: the first permessage-deflate offer it can accept, and
    /// the response header value. Offers with unknown, repeated or malformed parameters are declined
    /// (RFC 7692 5 and 7.1); `nil` when none is acceptable.
    ///
    /// The answer always asks for `server_no_context_takeover` (CanvasWire compresses each message on
    /// its own, so one compression serves every viewer) and `client_no_context_takeover` (so nothing of
    /// a message's window is kept for the next: a publisher costs no inflate state between frames).
    package static func accept(_ offers: [WebSocketExtensionOffer]) -> (agreement: PerMessageDeflate, response: String)? {
        for offer in offers where offer.name == extensionName {
            guard let parameters = Parameters(offer) else { continue }
            var response = WebSocketExtensionOffer(name: extensionName, parameters: [
                ("server_no_context_takeover", nil), ("client_no_context_takeover", nil),
            ])
            var serverWindow = 15
            if let requested = parameters.serverMaxWindowBits {
                serverWindow = requested
                response.parameters.append(("server_max_window_bits", String(requested)))
            }
            // A client that offers client_max_window_bits may be told a smaller window; ours inflates
            // with the largest window anyway, so the client keeps whatever it offered.
            let clientWindow = parameters.clientMaxWindowBits.flatMap { $0 } ?? 15
            let agreement = PerMessageDeflate(
                serverNoContextTakeover: true, clientNoContextTakeover: true,
                serverMaxWindowBits: serverWindow, clientMaxWindowBits: clientWindow
            )
            return (agreement, response.headerValue)
        }
        return nil
    }

    // MARK: Client

    /// What a CanvasWire client offers: permessage-deflate, telling the server it may limit the
    /// client's window.
    package static let clientOffer = WebSocketExtensionOffer(
        name: extensionName, parameters: [("client_max_window_bits", nil)]
    ).headerValue

    /// Why a server's `Sec-WebSocket-Extensions` answer must fail the connection (RFC 7692 5 and 7.1).
    package struct ResponseError: Error, Equatable, CustomStringConvertible {
        package var description: String
    }

    /// The agreement a server's answer to ``clientOffer`` makes; `nil` when it declined the extension.
    ///
    /// - Throws: ``ResponseError`` for an extension that was not offered, more than one answer, or a
    ///   parameter that is unknown, repeated, malformed or not allowed in answer to our offer.
    package static func agreement(fromResponse headers: [String]) throws(ResponseError) -> PerMessageDeflate? {
        guard let answers = WebSocketExtensionOffer.parse(headers) else {
            throw ResponseError(description: "the server's Sec-WebSocket-Extensions header is malformed")
        }
        guard let answer = answers.first else { return nil }
        guard answers.count == 1, answer.name == extensionName else {
            throw ResponseError(description: "the server agreed to extensions that were not offered: \(answers.map(\.name))")
        }
        guard let parameters = Parameters(answer) else {
            throw ResponseError(description: "the server's permessage-deflate parameters are invalid: \(answer.headerValue)")
        }
        // We offered client_max_window_bits without a value, so any value 8-15 is acceptable; a
        // parameter without a value is not, in an answer.
        if case .some(nil) = parameters.clientMaxWindowBits {
            throw ResponseError(description: "the server answered client_max_window_bits without a value")
        }
        return PerMessageDeflate(
            serverNoContextTakeover: parameters.serverNoContextTakeover,
            clientNoContextTakeover: parameters.clientNoContextTakeover,
            serverMaxWindowBits: parameters.serverMaxWindowBits ?? 15,
            clientMaxWindowBits: parameters.clientMaxWindowBits.flatMap { $0 } ?? 15
        )
    }

    /// The parameters of one offer or answer, each checked: known, at most once, values valid.
    private struct Parameters {
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        /// `.some(nil)`: present without a value (allowed in an offer only).
        var clientMaxWindowBits: Int??

        init?(_ offer: WebSocketExtensionOffer) {
            var seen: Set<String> = []
            for (name, value) in offer.parameters {
                guard seen.insert(name).inserted else { return nil }
                switch name {
                case "server_no_context_takeover":
                    guard value == nil else { return nil }
                    serverNoContextTakeover = true
                case "client_no_context_takeover":
                    guard value == nil else { return nil }
                    clientNoContextTakeover = true
                case "server_max_window_bits":
                    guard let bits = value.flatMap(Self.windowBits) else { return nil }
                    serverMaxWindowBits = bits
                case "client_max_window_bits":
                    if let value {
                        guard let bits = Self.windowBits(value) else { return nil }
                        clientMaxWindowBits = .some(bits)
                    } else {
                        clientMaxWindowBits = .some(nil)
                    }
                default:
                    return nil
                }
            }
        }

        /// 8 to 15, written without leading zeros (RFC 7692 7.1.2.1).
        private static func windowBits(_ text: String) -> Int? {
            guard let bits = Int(text), (8...15).contains(bits), String(bits) == text else { return nil }
            return bits
        }
    }
}
