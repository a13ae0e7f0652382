package import Logging
package import NIOCore
package import NIOWebSocket

/// The NIO side of one WebSocket connection, shared by client and server: it feeds what
/// ``IncrementalFrameDecoder`` reads to a ``WebSocketEndpoint``, carries out its answers, gathers text
/// messages, runs the keep-alive clock, and accounts every write in `bufferedAmount` until the socket
/// has taken it. What the connection is *for* is its ``WebSocketEndpointDelegate``'s business.
///
/// A plain NIO handler rather than a higher-level WebSocket library's because `bufferedAmount` needs
/// the completion of every individual write, fan-out writes one shared `ByteBuffer` to many channels,
/// and backpressure needs to switch a peer's reads off: none of that is reachable through an async
/// outbound writer.
///
/// Confined to the channel's event loop.
package final class WebSocketEndpointHandler: ChannelInboundHandler {
    package typealias InboundIn = IncomingFramePart
    package typealias OutboundOut = WebSocketFrame

    package struct Configuration: Sendable {
        package var endpoint: WebSocketEndpoint.Configuration
        /// How often the peer is pinged; `nil` for never (the dead-peer clock then never runs either).
        package var pingInterval: TimeAmount?
        /// How long to wait for the peer's close frame, or for it to hang up after a failure, before
        /// the TCP connection is closed regardless.
        package var closeTimeout: TimeAmount
        /// permessage-deflate as the handshake agreed it; `nil` when it was not.
        package var deflate: PerMessageDeflate?

        package init(
            endpoint: WebSocketEndpoint.Configuration, pingInterval: TimeAmount?, closeTimeout: TimeAmount = .seconds(3),
            deflate: PerMessageDeflate? = nil
        ) {
            self.endpoint = endpoint
            self.pingInterval = pingInterval
            self.closeTimeout = closeTimeout
            self.deflate = deflate
        }

        /// Whether the peer starts every message it compresses with an empty window.
        var peerResetsContext: Bool {
            switch endpoint.role {
            case .server: deflate?.clientNoContextTakeover ?? true
            case .client: deflate?.serverNoContextTakeover ?? true
            }
        }
    }

    private let configuration: Configuration
    private let delegate: any WebSocketEndpointDelegate
    private let logger: Logger
    private var endpoint: WebSocketEndpoint
    private var context: ChannelHandlerContext?
    /// The text message being received, if the current message is text.
    private var text: TextMessageAssembler?
    /// Whether the current message is compressed, and the inflater for such messages (made when the
    /// first one arrives: most connections never send one).
    private var inflating = false
    private var inflater: MessageInflater?
    private var keepAlive: Scheduled<Void>?
    private var closeDeadline: Scheduled<Void>?
    private var peerClose: ClosePayload?
    private var wasClean = false
    private var closingReported = false
    private var readingEnabled = true

    /// Bytes of messages handed to the connection and not yet written to its socket.
    package private(set) var bufferedAmount = 0
    /// Payload bytes the current (or last) message took on the wire: compressed, if it was.
    package private(set) var messageWireBytes = 0

    package init(configuration: Configuration, delegate: any WebSocketEndpointDelegate, logger: Logger) {
        self.configuration = configuration
        self.delegate = delegate
        self.logger = logger
        var endpoint = configuration.endpoint
        endpoint.compressionNegotiated = configuration.deflate != nil
        self.endpoint = WebSocketEndpoint(configuration: endpoint, now: .now())
    }

    /// Whether data messages may still be sent.
    package var isOpen: Bool { context != nil && endpoint.isOpen }

    /// permessage-deflate as the handshake agreed it, `nil` if it did not.
    package var deflate: PerMessageDeflate? { configuration.deflate }

    /// The window this side compresses with, `nil` when it must not compress (nothing agreed, or the
    /// peer allows only an 8-bit window).
    package var compressionWindowBits: Int? {
        guard let deflate else { return nil }
        let allowed = configuration.endpoint.role == .server ? deflate.serverMaxWindowBits : deflate.clientMaxWindowBits
        return PerMessageDeflate.compressionWindowBits(allowed: allowed)
    }

    package var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }

    // MARK: Lifecycle

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleKeepAlive()
        delegate.webSocketDidOpen(self)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        keepAlive?.cancel()
        closeDeadline?.cancel()
        reportClosing()
        delegate.webSocketDidClose(self, peerClose: peerClose, wasClean: wasClean)
        self.context = nil
        context.fireChannelInactive()
    }

    // MARK: Inbound

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(endpoint.receive(unwrapInboundIn(data), now: .now()))
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let framing = error as? IncomingFrameError {
            perform(endpoint.receive(framing))
        } else {
            logger.debug("connection error: \(error)")
            context.close(promise: nil)
        }
    }

    private func perform(_ action: WebSocketEndpoint.Inbound) {
        switch action {
        case .none:
            break
        case .messageStarted(let start):
            inflating = start.compressed
            messageWireBytes = 0
            switch start.kind {
            case .text:
                text = TextMessageAssembler(
                    limit: delegate.maxTextMessageBytes, expectedLength: start.isSingleFrame ? start.firstFrameLength : nil,
                    allocator: allocator
                )
            case .binary:
                delegate.webSocket(self, didStartBinaryMessage: start)
            }
        case .messagePiece(let piece, let endsMessage):
            messageWireBytes += piece.count
            guard !inflating else { return inflate(piece, endsMessage: endsMessage) }
            deliver(piece, endsMessage: endsMessage)
        case .sendPong(let data):
            sendPong(data)
        case .replyToClose(let peer, let reply):
            peerClose = peer
            wasClean = true
            reportClosing()
            writeClose(reply) { $0.context?.close(promise: nil) }
        case .closeHandshakeCompleted(let peer):
            peerClose = peer
            wasClean = true
            context?.close(promise: nil)
        case .fail(let payload):
            if let payload { delegate.webSocket(self, didFail: payload) }
            failConnection(sending: payload)
        }
    }

    /// Inflates a piece of a compressed message and hands the output on as plain pieces, stopping as
    /// soon as the message is refused (a bomb costs at most one chunk beyond the receiver's limit).
    private func inflate(_ piece: MessagePiece, endsMessage: Bool) {
        let inflater = self.inflater ?? MessageInflater(resetsAfterEachMessage: configuration.peerResetsContext, allocator: allocator)
        self.inflater = inflater
        do throws(MessageInflater.Failure) {
            try inflater.inflate(piece.unmaskedBytes, endsMessage: endsMessage) { chunk in
                deliver(MessagePiece(bytes: chunk, maskKey: nil), endsMessage: false)
                return endpoint.isOpen
            }
        } catch {
            return fail(code: 1007, reason: error.reason)
        }
        if endsMessage, endpoint.isOpen {
            deliver(MessagePiece(bytes: ByteBuffer(), maskKey: nil), endsMessage: true)
        }
    }

    /// Hands a plain piece of the current message to the text assembler or the delegate.
    private func deliver(_ piece: MessagePiece, endsMessage: Bool) {
        guard var assembler = text else {
            return delegate.webSocket(self, didReceiveBinary: piece, endsMessage: endsMessage)
        }
        text = nil  // leaves the buffer uniquely referenced while it grows
        do throws(TextMessageAssembler.Refusal) {
            try assembler.append(piece)
            guard endsMessage else {
                text = assembler
                return
            }
            delegate.webSocket(self, didReceiveText: try assembler.finish())
        } catch {
            fail(code: error.code, reason: error.reason)
        }
    }

    private func sendPong(_ data: ByteBuffer) {
        write(WebSocketFrame(fin: true, opcode: .pong, data: data)) { handler in
            if let next = handler.endpoint.pongWritten() { handler.sendPong(next) }
        }
    }

    // MARK: Outbound

    /// Queues a data message. Returns `false`, sending nothing, once closing has begun.
    @discardableResult
    package func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer, compressed: Bool = false) -> Bool {
        guard isOpen else { return false }
        write(WebSocketFrame(fin: true, rsv1: compressed, opcode: opcode, data: data))
        return true
    }

    /// Starts the closing handshake: the close frame goes out after everything queued before it, reads
    /// go on (and are discarded) until the peer answers, so the frame is not lost to a TCP reset, and
    /// after ``Configuration/closeTimeout`` the connection is closed regardless.
    package func close(code: UInt16, reason: String) {
        guard let payload = endpoint.close(ClosePayload(code: code, reason: reason)) else { return }
        reportClosing()
        writeClose(payload)
        drainUntilDeadline()
    }

    /// Fails the connection for a message the delegate refuses: a close frame with `code`, then the TCP
    /// connection is closed without waiting for the peer's answer (RFC 6455 7.1.7).
    package func fail(code: UInt16, reason: String) {
        perform(endpoint.fail(ClosePayload(code: code, reason: reason)))
    }

    /// Stops or resumes reading the peer's socket; the dead-peer clock waits while reading is off.
    /// Once closing has begun the peer is always read, so that its close frame is seen.
    package func setReading(_ enabled: Bool) {
        guard let context, endpoint.isOpen, readingEnabled != enabled else { return }
        readingEnabled = enabled
        endpoint.setReadingPaused(!enabled, now: .now())
        context.channel.setOption(ChannelOptions.autoRead, value: enabled).whenComplete { _ in }
    }

    /// Writes one frame and accounts its payload in `bufferedAmount` until the socket has taken it;
    /// `written` runs on the event loop once it has (or the write failed).
    private func write(_ frame: WebSocketFrame, written: ((WebSocketEndpointHandler) -> Void)? = nil) {
        guard let context, context.channel.isActive else { return }
        let bytes = frame.data.readableBytes
        let opcode = frame.opcode
        bufferedAmount += bytes
        delegate.webSocket(self, didQueue: bytes)
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.bufferedAmount -= bytes
            if case .success = result { written?(self) }
            self.delegate.webSocket(self, didWrite: bytes, opcode: opcode, succeeded: (try? result.get()) != nil)
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }

    /// Writes a close frame (not counted in `bufferedAmount`); `written` runs once the socket took it.
    private func writeClose(_ payload: ClosePayload, written: ((WebSocketEndpointHandler) -> Void)? = nil) {
        guard let context else { return }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload.encoded(allocator: context.channel.allocator))
        if let code = payload.code, code != 1000, code != 1001 {
            logger.info("closing connection", metadata: ["code": "\(code)", "reason": "\(payload.reason)"])
        }
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in written?(self) }
    }

    /// The connection fails: the close frame (if ours is not out yet), then our half of the TCP
    /// connection is closed once it is written, which tells the peer we are done without the reset a
    /// full close could cause while its bytes still arrive; the rest of what it sends is read and
    /// discarded until it hangs up or the deadline passes.
    private func failConnection(sending payload: ClosePayload?) {
        reportClosing()
        text = nil
        guard let context else { return }
        guard let payload else {
            context.close(promise: nil)
            return
        }
        writeClose(payload) { handler in
            guard let context = handler.context else { return }
            context.close(mode: .output).assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        }
        drainUntilDeadline()
    }

    /// Reads on (the peer's close frame or its hang-up must be seen) until ``Configuration/closeTimeout``.
    private func drainUntilDeadline() {
        guard let context else { return }
        if !readingEnabled {
            readingEnabled = true
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
        closeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.closeTimeout) {
            self.context?.close(promise: nil)
        }
    }

    private func reportClosing() {
        guard !closingReported else { return }
        closingReported = true
        delegate.webSocketIsClosing(self)
    }

    private func scheduleKeepAlive() {
        guard let context, let interval = configuration.pingInterval else { return }
        keepAlive = context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            self.keepAliveTicked()
            self.scheduleKeepAlive()
        }
    }

    private func keepAliveTicked() {
        guard let context else { return }
        switch endpoint.keepAlive(now: .now()) {
        case .none:
            break
        case .sendPing:
            write(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0)))
        case .peerIsDead:
            logger.notice("closing connection: peer silent for longer than \(configuration.endpoint.deadPeerTimeout.nanoseconds / 1_000_000_000) s")
            context.close(promise: nil)
        case .closeUnfinishedMessage(let payload):
            close(code: payload.code ?? 1008, reason: payload.reason)
        }
    }
}
