import NIOCore
import NIOHTTP1
import NIOWebSocket
import CanvasWireWebSocket

/// The WebSocket client upgrade of NIOWebSocket, with CanvasWire's own frame codecs in place of the
/// library's: ``MaskingFrameEncoder`` masks eight bytes at a time, ``IncrementalFrameDecoder`` hands
/// payload on without gathering frames, and the shared ``WebSocketEndpointHandler`` applies RFC 6455.
///
/// The handshake (request headers, `Sec-WebSocket-Accept` check) is delegated to
/// `NIOWebSocketClientUpgrader` unchanged; only the handlers installed after a successful upgrade
/// differ, because the library's codecs cannot be removed from a pipeline once added.
struct MaskingWebSocketUpgrader: NIOHTTPClientProtocolUpgrader, Sendable {
    private let library: NIOWebSocketClientUpgrader
    private let maxFrameSize: Int
    private let offersDeflate: Bool
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPResponseHead, PerMessageDeflate?) -> EventLoopFuture<Void>

    /// - Parameters:
    ///   - offersDeflate: Whether to offer permessage-deflate (RFC 7692).
    ///   - upgradePipelineHandler: Adds the connection's handler once upgraded, with what the server agreed.
    init(
        maxFrameSize: Int, offersDeflate: Bool,
        upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPResponseHead, PerMessageDeflate?) -> EventLoopFuture<Void>
    ) {
        self.library = NIOWebSocketClientUpgrader(maxFrameSize: maxFrameSize, automaticErrorHandling: true) { channel, _ in
            channel.eventLoop.makeSucceededVoidFuture()
        }
        self.maxFrameSize = maxFrameSize
        self.offersDeflate = offersDeflate
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    var supportedProtocol: String { library.supportedProtocol }

    var requiredUpgradeHeaders: [String] { library.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        library.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
        if offersDeflate {
            upgradeRequestHeaders.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.clientOffer)
        }
    }

    /// Also refuses an answer that agrees to extensions we did not offer, or to permessage-deflate with
    /// parameters RFC 7692 does not allow in answer to our offer.
    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        guard library.shouldAllowUpgrade(upgradeResponse: upgradeResponse) else { return false }
        return (try? Self.agreement(upgradeResponse, offered: offersDeflate)) != nil
    }

    /// What the server agreed to: `.some(nil)` for no extension, `nil` for an invalid answer.
    private static func agreement(_ response: HTTPResponseHead, offered: Bool) throws(PerMessageDeflate.ResponseError) -> PerMessageDeflate?? {
        let headers = response.headers[canonicalForm: "sec-websocket-extensions"].map(String.init)
        guard offered else {
            return headers.isEmpty ? .some(nil) : nil
        }
        return .some(try PerMessageDeflate.agreement(fromResponse: headers))
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        do {
            let sync = context.pipeline.syncOperations
            try sync.addHandler(MaskingFrameEncoder())
            try sync.addHandler(IncrementalFrameDecoder(maxFrameSize: maxFrameSize))
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        let deflate = (try? Self.agreement(upgradeResponse, offered: offersDeflate)) ?? nil
        return upgradePipelineHandler(context.channel, upgradeResponse, deflate ?? nil)
    }
}
