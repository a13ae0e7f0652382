import NIOCore
import NIOPosix
import Synchronization

/// A stand-in for nats-server on 127.0.0.1 (kernel-chosen port) that can do what a real one does
/// only under conditions a test cannot arrange: stop reading its socket, or stop answering `PING`s.
///
/// It sends an `INFO` and answers the `PING` that follows `CONNECT`, so the client sees a server;
/// it answers no other `PING`, and after that first one it reads only while `reading` is set.
final class ScriptedNATSServer: Sendable {
    private struct State {
        var reading: Bool
        var connections: [any Channel] = []
        var accepted = 0
    }

    private final class Shared: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }

    private let channel: any Channel
    private let shared: Shared
    let port: Int

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Connections accepted so far.
    var accepted: Int { shared.state.withLock { $0.accepted } }

    init(maxPayload: Int, reading: Bool = true) async throws {
        let shared = Shared(State(reading: reading))
        let info = ByteBuffer(string: #"INFO {"server_id":"scripted","version":"2.9.10","proto":1,"headers":true,"max_payload":\#(maxPayload)}"# + "\r\n")
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // A small receive buffer (no autotuning) so that a server that stops reading stops the
            // client's writes after a few hundred KiB instead of tens of MiB.
            .childChannelOption(.socketOption(.so_rcvbuf), value: 64 << 10)
            .childChannelInitializer { child in
                shared.state.withLock {
                    $0.connections.append(child)
                    $0.accepted += 1
                }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Handler(info: info, shared: shared))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.shared = shared
        port = channel.localAddress!.port!
    }

    /// Starts reading every connection again (and all later ones).
    func resumeReading() {
        let connections = shared.state.withLock { state in
            state.reading = true
            return state.connections
        }
        for connection in connections {
            connection.setOption(.autoRead, value: true).whenComplete { _ in connection.read() }
        }
    }

    func shutdown() async throws {
        let connections = shared.state.withLock { $0.connections }
        for connection in connections { try? await connection.close() }
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let info: ByteBuffer
        let shared: Shared
        /// The bytes read before the handshake's `PING`, until it is found; `nil` after.
        let handshake = Mutex<[UInt8]?>([])

        init(info: ByteBuffer, shared: Shared) {
            self.info = info
            self.shared = shared
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(info), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            let handshakeDone = handshake.withLock { (bytes: inout [UInt8]?) -> Bool in
                guard bytes != nil else { return false }
                bytes! += buffer.readableBytesView
                guard bytes!.firstRange(of: Array("PING\r\n".utf8)) != nil else { return false }
                bytes = nil
                return true
            }
            guard handshakeDone else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "PONG\r\n")), promise: nil)
            if !shared.state.withLock({ $0.reading }) {
                context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
            }
        }
    }
}
