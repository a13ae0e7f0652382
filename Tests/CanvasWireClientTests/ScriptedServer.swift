import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A WebSocket server on 127.0.0.1 (kernel-chosen port) that sends every client the same messages,
/// whatever they are, and records what the client asked for and how it closed: for client behaviour
/// a real CanvasWire server never provokes, such as a malformed delta.
final class ScriptedServer: Sendable {
    enum Message: Sendable {
        case text(String)
        case binary(ByteBuffer)
    }

    let port: Int
    private let channel: any Channel
    private let recorded: Recorded

    final class Recorded: Sendable {
        let requests = Mutex<[String]>([])
        let closeCodes = Mutex<[UInt16]>([])
    }

    /// The request targets the clients asked for, in order.
    var requests: [String] { recorded.requests.withLock { $0 } }
    /// The close codes the clients sent.
    var closeCodes: [UInt16] { recorded.closeCodes.withLock { $0 } }

    private init(port: Int, channel: any Channel, recorded: Recorded) {
        self.port = port
        self.channel = channel
        self.recorded = recorded
    }

    static func start(sending messages: [Message]) async throws -> ScriptedServer {
        let recorded = Recorded()
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 24, automaticErrorHandling: true,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, head in
                recorded.requests.withLock { $0.append(head.uri) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(messages: messages, recorded: recorded))
                }
            }
        )
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress?.port ?? 0, channel: channel, recorded: recorded)
    }

    func stop() async throws {
        try await channel.close()
    }

    /// Sends the script once the connection is upgraded; answers a close frame and hangs up.
    private final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame

        let messages: [Message]
        let recorded: Recorded

        init(messages: [Message], recorded: Recorded) {
            self.messages = messages
            self.recorded = recorded
        }

        func handlerAdded(context: ChannelHandlerContext) {
            for message in messages {
                let frame = switch message {
                case .text(let text): WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text))
                case .binary(let bytes): WebSocketFrame(fin: true, opcode: .binary, data: bytes)
                }
                context.write(wrapOutboundOut(frame), promise: nil)
            }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard frame.opcode == .connectionClose else { return }
            var body = frame.unmaskedData
            let code = body.readInteger(as: UInt16.self) ?? 1005
            recorded.closeCodes.withLock { $0.append(code) }
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.writeInteger(code)
            let answered = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
            answered.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
