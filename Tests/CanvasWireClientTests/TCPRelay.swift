import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A TCP relay on 127.0.0.1 (kernel-chosen port) in front of a server, that can cut every connection
/// through it at once: a network failure under a client while the server keeps running.
final class TCPRelay: Sendable {
    let port: Int
    private let listener: any Channel
    private let relayed: RelayedChannels

    private init(port: Int, listener: any Channel, relayed: RelayedChannels) {
        self.port = port
        self.listener = listener
        self.relayed = relayed
    }

    /// Listens and forwards each connection to `upstreamPort` on 127.0.0.1.
    static func start(to upstreamPort: Int) async throws -> TCPRelay {
        let relayed = RelayedChannels()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { inbound in
                // Reading starts once this future succeeds, so no byte arrives before the glue is in place.
                ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: upstreamPort).flatMapThrowing { outbound in
                    try inbound.pipeline.syncOperations.addHandler(Forwarder(to: outbound))
                    try outbound.pipeline.syncOperations.addHandler(Forwarder(to: inbound))
                    relayed.channels.withLock { $0 += [inbound, outbound] }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPRelay(port: try #require(listener.localAddress?.port), listener: listener, relayed: relayed)
    }

    /// Closes both sides of every connection relayed so far; new connections are relayed as before.
    func cutAll() async throws {
        for channel in relayed.channels.withLock({ channels in defer { channels = [] }; return channels }) {
            try? await channel.close()
        }
    }

    func stop() async throws {
        try await cutAll()
        try await listener.close()
    }
}

/// Both sides of every connection relayed since the last cut.
private final class RelayedChannels: Sendable {
    let channels = Mutex<[any Channel]>([])
}

/// Writes everything one side reads to the other, and closes the other when one side closes.
private final class Forwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let partner: any Channel

    init(to partner: any Channel) { self.partner = partner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }
}
