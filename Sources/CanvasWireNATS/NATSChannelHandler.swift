#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// What the connection writes: raw protocol bytes, or a publish whose payload must not be copied.
enum NATSOutbound: Sendable {
    case bytes(ByteBuffer)
    /// The `PUB`/`HPUB` line (and header block), then the payload buffers as they were handed over
    /// (a prefix, when given, and the body), then `\r\n`: one gathering write, flushed once.
    case publish(head: ByteBuffer, prefix: ByteBuffer?, payload: ByteBuffer)
}

/// One TCP connection to one server: the `INFO`/`CONNECT`/`PONG` handshake, `PING`s both ways, and
/// received messages handed to the ``NATSConnection`` on this event loop.
///
/// Mutable state is confined to the channel's event loop (the connection's own); the connection
/// reaches it only from there.
final class NATSChannelHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = NATSOutbound
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingInfo
        case awaitingPong(NATSServerInfo)
        case ready
    }

    private let connection: NATSConnection
    /// The index of this handler's server in the connection's URL list.
    let server: Int
    private var parser: NATSProtocolParser
    private var phase = Phase.awaitingInfo
    private var context: ChannelHandlerContext?
    /// One entry per `PING` sent, oldest first: a flush waiting for its `PONG`, or `nil` for a keep-alive.
    private var pongWaiters = CircularBuffer<EventLoopPromise<Void>?>()
    /// Why this side is ending the connection: a protocol error, a failed handshake, a timeout.
    private var failure: NATSError?
    /// The last `-ERR`: when the server closes the connection, the likely reason.
    private var lastServerError: String?
    private var timer: Scheduled<Void>?

    init(connection: NATSConnection, server: Int) {
        self.connection = connection
        self.server = server
        // Until INFO says otherwise, accept what NATS allows at most (64 MiB): no message comes first.
        self.parser = NATSProtocolParser(
            maxControlLineBytes: connection.configuration.maxControlLineBytes, maxPayloadBytes: 64 << 20
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let timeout = TimeAmount(connection.configuration.connectTimeout)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.fail(.timeout("the server's INFO and PONG after connecting"))
        }
    }

    /// Also reached without `channelInactive` by a channel that never connected: the context holds
    /// this handler, so keeping it would keep both, and the connection, alive.
    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
        self.context = nil
    }

    /// Cancels the timer and lets go of it: a `Scheduled` holds its closure, which holds this handler.
    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        let reason = failure ?? lastServerError.map(NATSError.serverError) ?? .connectionLost("the server closed the connection")
        while let waiter = pongWaiters.popFirst() { waiter?.fail(reason) }
        self.context = nil
        if case .ready = phase {
            connection.linkLost(self, reason: reason)
        } else {
            connection.attemptFailed(server: server, reason: reason)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error as? NATSError ?? .connectionLost("\(error)"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        var buffer = unwrapInboundIn(data)
        do throws(NATSError) {
            while let operation = try parser.next(from: &buffer) {
                try handle(operation, context: context)
            }
        } catch {
            fail(error)
        }
    }

    private func handle(_ operation: NATSServerOperation, context: ChannelHandlerContext) throws(NATSError) {
        switch operation {
        case .message(let message):
            connection.countReceived(message)
            connection.deliver(message)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(NATSCommand.pong), promise: nil)
        case .pong:
            if case .awaitingPong(let info) = phase {
                phase = .ready
                stopTimer()
                scheduleKeepAlive()
                connection.linkReady(self, channel: context.channel, info: info)
            } else if let waiter = pongWaiters.popFirst() {
                waiter?.succeed()
            }
        case .info(let json):
            let info: NATSServerInfo
            do {
                info = try JSONDecoder().decode(NATSServerInfo.self, from: Data(json.utf8))
            } catch {
                throw .protocolViolation("INFO is not the JSON expected: \(error)")
            }
            parser.maxPayloadBytes = info.maxPayload
            switch phase {
            case .awaitingInfo:
                phase = .awaitingPong(info)
                context.write(wrapOutboundOut(NATSCommand.connect(name: connection.configuration.name)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(NATSCommand.ping), promise: nil)
            case .awaitingPong:
                phase = .awaitingPong(info)
            case .ready:
                connection.infoUpdated(info)
            }
        case .ok:
            break
        case .error(let text):
            connection.serverReported(text)
            lastServerError = text
            // Before the handshake completes every -ERR is fatal (authorization, for example); after
            // it, the server closes the connection itself when the error is one it cannot go on from
            // ('Slow Consumer'), and keeps it for the others ('Permissions Violation').
            guard case .ready = phase else { throw .serverError(text) }
        }
    }

    /// Sends a `PING`; `promise` succeeds at its `PONG`, when everything written before it has been
    /// processed by the server.
    func ping(_ promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(NATSError.notConnected)
            return
        }
        pongWaiters.append(promise)
        context.writeAndFlush(wrapOutboundOut(NATSCommand.ping), promise: nil)
    }

    private func scheduleKeepAlive() {
        guard let context else { return }
        let interval = TimeAmount(connection.configuration.pingInterval)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            let limit = self.connection.configuration.maxPingsOutstanding
            guard self.pongWaiters.count < limit else {
                return self.fail(.connectionLost("\(limit) PINGs went unanswered (stale connection)"))
            }
            self.ping(nil)
            self.scheduleKeepAlive()
        }
    }

    /// Ends this connection for `error`; the connection learns why when the channel is inactive.
    private func fail(_ error: NATSError) {
        failure = failure ?? error
        context?.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .bytes(let bytes):
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .publish(let head, let prefix, let payload):
            context.write(wrapOutboundOut(head), promise: nil)
            if let prefix { context.write(wrapOutboundOut(prefix), promise: nil) }
            context.write(wrapOutboundOut(payload), promise: nil)
            context.write(wrapOutboundOut(NATSCommand.crlf), promise: promise)
        }
    }
}
