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
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<Void>

    init(maxFrameSize: Int, upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<Void>) {
        self.library = NIOWebSocketClientUpgrader(maxFrameSize: maxFrameSize, automaticErrorHandling: true) { channel, _ in
            channel.eventLoop.makeSucceededVoidFuture()
        }
        self.maxFrameSize = maxFrameSize
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    var supportedProtocol: String { library.supportedProtocol }

    var requiredUpgradeHeaders: [String] { library.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        library.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        library.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        do {
            let sync = context.pipeline.syncOperations
            try sync.addHandler(MaskingFrameEncoder())
            try sync.addHandler(IncrementalFrameDecoder(maxFrameSize: maxFrameSize))
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        return upgradePipelineHandler(context.channel, upgradeResponse)
    }
}
