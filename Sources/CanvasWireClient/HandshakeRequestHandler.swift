import NIOCore
import NIOHTTP1

/// Sends the upgrade request once connected, and turns any answer other than the upgrade into a
/// ``WebSocketClientError`` carrying the server's status and explanation.
final class HandshakeRequestHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let url: WebSocketURL
    private let headers: HTTPHeaders
    private let upgraded: EventLoopPromise<String?>
    private var refusal: (status: Int, body: ByteBuffer)?

    init(url: WebSocketURL, headers: HTTPHeaders, upgraded: EventLoopPromise<String?>) {
        self.url = url
        self.headers = headers
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            refusal = (Int(head.status.code), context.channel.allocator.buffer(capacity: 0))
        case .body(var body):
            if refusal != nil, refusal!.body.readableBytes < 4096 { refusal!.body.writeBuffer(&body) }
        case .end:
            let status = refusal?.status ?? 0
            let text = refusal.map { String(String(buffer: $0.body).reversed().drop { $0.isWhitespace }.reversed()) } ?? ""
            upgraded.fail(WebSocketClientError.handshakeRefused(url.description, status: status, body: text))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(WebSocketClientError.connectionFailed(url.description, underlying: error))
        context.close(promise: nil)
    }
}
