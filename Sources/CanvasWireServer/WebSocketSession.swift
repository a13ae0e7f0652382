import CanvasWireCore
import Logging
import NIOCore
import NIOWebSocket

/// What a WebSocket connection does, decided from its URL before the upgrade.
enum SessionRole: Sendable {
    /// Sends frames to a stream; `bareSize` is set for raw RGBA messages without a header.
    case publisher(RelayStream, bareSize: FrameSize?)
    case viewer(RelayStream, DeliveryPolicy)
    case echo
}

/// One upgraded WebSocket connection: it reassembles messages, validates them as they arrive, and
/// writes everything it sends through a ``ViewerOutbox`` that keeps `bufferedAmount` exact.
///
/// This is a plain NIO handler rather than a higher-level WebSocket library handler because
/// `bufferedAmount` needs the completion of every individual write, fan-out needs to write one shared
/// `ByteBuffer` to many channels, and lossless backpressure needs to switch the publisher's reads off:
/// none of those is reachable through an async outbound writer.
///
/// All mutable state is confined to the channel's event loop; the `@unchecked Sendable` conformance
/// exists for the hops other loops make through ``deliver(_:)``, which always `execute` on that loop.
final class WebSocketSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = IncomingFramePart
    typealias OutboundOut = WebSocketFrame

    /// Text control messages are small; anything longer is refused rather than buffered.
    static let maxTextMessageBytes = 64 << 10
    /// Fragments one message may arrive in. Bytes are bounded by the payload limit already; this bounds
    /// the work a flood of empty continuation frames can cause. Browsers send about 2,048 fragments for
    /// the largest (256 MiB) message.
    static let maxFragmentsPerMessage = 1 << 16
    /// How long the server waits for the peer's close frame after sending its own.
    static let closeHandshakeTimeout = TimeAmount.seconds(3)

    let role: SessionRole
    let policy: DeliveryPolicy
    let counters: ConnectionCounters
    private let server: ServerContext
    private let eventLoop: any EventLoop
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var outbox: ViewerOutbox
    private var message: MessageAssembly?
    /// The data frame whose payload is arriving, if it belongs to a message being assembled.
    private var currentFrame: IncomingFrameHeader?
    private var closeSent = false
    private var lastHeard = NIODeadline.now()
    /// When the message being assembled last grew: a peer that starts a message and never finishes it
    /// is closed like a silent one, even if it keeps answering pings.
    private var lastMessageProgress = NIODeadline.now()
    /// Whether the server has stopped reading this peer (a lossless viewer is behind). Silence is then
    /// the server's doing, so the dead-peer checks wait.
    private var readingPaused = false
    private var keepAlive: RepeatedTask?
    private var stallTimer: Scheduled<Void>?
    private var lastPublishedSequence: UInt64?
    /// A pong handed to the socket and not yet written; while one is, only the latest ping is kept.
    private var pongInFlight = false
    private var pendingPing: ByteBuffer?

    init(role: SessionRole, server: ServerContext, eventLoop: any EventLoop, logger: Logger) {
        self.role = role
        self.server = server
        self.eventLoop = eventLoop
        self.counters = ConnectionCounters(id: server.nextConnectionID())
        let configuration = server.configuration
        let policy: DeliveryPolicy = if case .viewer(_, let policy) = role { policy } else { .all }
        self.policy = policy
        self.outbox = ViewerOutbox(
            policy: policy,
            highWaterMark: configuration.highWaterMark,
            lowWaterMark: configuration.lowWaterMark
        )
        self.logger = logger
        self.logger[metadataKey: "connection"] = "\(counters.id)"
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        server.metrics.connectionOpened(role: role)
        startKeepAlive(context: context)
        switch role {
        case .publisher(let stream, _):
            guard stream.attach(publisher: self) else {
                close(.policyViolation, reason: "stream \"\(stream.name)\" already has a publisher")
                return
            }
            logger.info("publisher connected", metadata: ["stream": "\(stream.name)"])
            send(.hello(hello(stream: stream, size: stream.latestFrame?.header.size, policy: nil)))
        case .viewer(let stream, let policy):
            let (latest, publisherConnected) = stream.attach(viewer: self)
            logger.info("viewer connected", metadata: ["stream": "\(stream.name)", "policy": "\(policy)"])
            send(.hello(hello(stream: stream, size: latest?.header.size, policy: policy)))
            send(.publisher(.init(connected: publisherConnected)))
            if let latest { offer(latest) }
        case .echo:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepAlive?.cancel()
        stallTimer?.cancel()
        switch role {
        case .publisher(let stream, _):
            stream.detach(publisher: self)
            server.registry.releaseIfUnused(stream)
        case .viewer(let stream, _):
            stream.detach(viewer: self)
            server.registry.releaseIfUnused(stream)
        case .echo:
            break
        }
        server.metrics.connectionClosed(role: role)
        logger.debug("connection closed")
        self.context = nil
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastHeard = .now()
        switch unwrapInboundIn(data) {
        case .control(let frame):
            guard acceptsFraming(maskKey: frame.maskKey, reservedBits: frame.rsv1 || frame.rsv2 || frame.rsv3) else {
                return
            }
            switch frame.opcode {
            case .ping: answerPing(frame.unmaskedData)
            case .pong: break
            case .connectionClose: receivedClose(frame)
            default: close(.protocolError, reason: "reserved opcode \(frame.opcode)")
            }
        case .dataFrame(let header):
            guard acceptsFraming(maskKey: header.maskKey, reservedBits: header.rsv1 || header.rsv2 || header.rsv3) else {
                return
            }
            startDataFrame(header, context: context)
        case .payload(let bytes, let maskOffset, let endsFrame):
            guard let frame = currentFrame else { return }
            if endsFrame { currentFrame = nil }
            append(bytes, maskKey: frame.maskKey?.startingAt(offset: maskOffset), endsMessage: endsFrame && frame.fin)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let framing = error as? IncomingFrameError {
            return close(framing.closeCode, reason: framing.reason)
        }
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    /// RFC 6455 5.1 and 5.2: client frames are masked, and no extension is negotiated, so RSV bits are 0.
    private func acceptsFraming(maskKey: WebSocketMaskingKey?, reservedBits: Bool) -> Bool {
        guard maskKey != nil else {
            close(.protocolError, reason: "client frame is not masked")
            return false
        }
        guard !reservedBits else {
            close(.protocolError, reason: "reserved bits set without a negotiated extension")
            return false
        }
        return true
    }

    private func startDataFrame(_ header: IncomingFrameHeader, context: ChannelHandlerContext) {
        switch header.opcode {
        case .text, .binary:
            guard message == nil else {
                return close(.protocolError, reason: "new message started before the previous one finished")
            }
            guard !closeSent else { return }
            startMessage(binary: header.opcode == .binary, context: context)
        case .continuation:
            guard !closeSent else { return }
            guard message != nil else {
                return close(.protocolError, reason: "continuation frame without a message to continue")
            }
        default:
            return close(.protocolError, reason: "reserved opcode \(header.opcode)")
        }
        message?.fragments += 1
        guard let fragments = message?.fragments else { return }
        guard fragments <= Self.maxFragmentsPerMessage else {
            return close(.messageTooLarge, reason: "message split into more than \(Self.maxFragmentsPerMessage) fragments")
        }
        currentFrame = header
    }

    private func startMessage(binary: Bool, context: ChannelHandlerContext) {
        let limits = server.configuration.limits
        guard binary else {
            message = MessageAssembly(kind: .text, buffer: context.channel.allocator.buffer(capacity: 256))
            return
        }
        switch role {
        case .publisher(_, let bareSize?):
            var buffer = context.channel.allocator.buffer(capacity: FrameHeader.v1Length + bareSize.rgbaByteCount)
            buffer.writeRepeatingByte(0, count: FrameHeader.v1Length)  // the header is stamped at the end
            message = MessageAssembly(kind: .bare(expected: bareSize.rgbaByteCount), buffer: buffer)
        case .publisher:
            let reader = FrameMessageReader(limits: limits)
            message = MessageAssembly(kind: .frame(reader), buffer: context.channel.allocator.buffer(capacity: 0))
        case .echo:
            message = MessageAssembly(kind: .echo, buffer: context.channel.allocator.buffer(capacity: 0))
        case .viewer:
            close(.unacceptableData, reason: "viewers do not send binary messages")
        }
    }

    /// Adds a piece of the current frame's payload to the message; the piece is unmasked on its way in.
    private func append(_ bytes: ByteBuffer, maskKey: WebSocketMaskingKey?, endsMessage: Bool) {
        guard var assembly = message else { return }
        message = nil  // keeps the buffer uniquely referenced while it grows
        lastMessageProgress = lastHeard  // read with this piece, in channelRead
        do throws(FrameError) {
            try assembly.append(bytes, maskKey: maskKey, limits: server.configuration.limits)
        } catch {
            return refuse(error)
        }
        guard endsMessage else {
            message = assembly
            return
        }
        finish(&assembly)
    }

    /// Takes `assembly` inout so that stamping a bare frame's header writes into the one buffer.
    private func finish(_ assembly: inout MessageAssembly) {
        switch assembly.kind {
        case .frame(let reader):
            do throws(FrameError) {
                publish(Frame(header: try reader.finish(), message: assembly.buffer))
            } catch {
                refuse(error)
            }
        case .bare(let expected):
            let payload = assembly.buffer.readableBytes - FrameHeader.v1Length
            guard payload == expected, case .publisher(let stream, let size?) = role else {
                return refuse(.payloadSizeMismatch(expected: expected, actual: payload))
            }
            let header = FrameHeader(
                pixelFormat: .rgba8, width: size.width, height: size.height,
                sequence: stream.stampSequence(), captureTimeMicros: WallClock.microsecondsNow()
            )
            assembly.stamp(header)
            publish(Frame(header: header, message: assembly.buffer))
        case .echo:
            send(WebSocketFrame(fin: true, opcode: .binary, data: assembly.buffer))
        case .text:
            receivedText(assembly.buffer)
        }
    }

    private func publish(_ frame: Frame) {
        guard case .publisher(let stream, _) = role else { return }
        lastPublishedSequence = frame.header.sequence
        counters.countSentFrame()
        stream.publish(frame)
    }

    private func receivedText(_ buffer: ByteBuffer) {
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            return close(.dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
        }
        if case .echo = role {
            send(WebSocketFrame(fin: true, opcode: .text, data: buffer))
            return
        }
        let control: ControlMessage
        do throws(FrameError) {
            control = try ControlMessage(parsing: text)
        } catch {
            return refuse(error)
        }
        if case .end(let end) = control, case .publisher(let stream, _) = role {
            logger.info("publisher ended its stream", metadata: ["stream": "\(stream.name)"])
            stream.end(lastSequence: end.lastSequence ?? lastPublishedSequence)
        }
    }

    /// RFC 6455 5.5.3 lets an endpoint answer only the most recent of several pings. Doing so while a
    /// pong is still waiting for the socket means a peer that pings faster than it reads queues one
    /// pong at most, not one per ping.
    private func answerPing(_ data: ByteBuffer) {
        guard !pongInFlight else {
            pendingPing = data
            return
        }
        pongInFlight = true
        send(WebSocketFrame(fin: true, opcode: .pong, data: data)) { session in
            session.pongInFlight = false
            if let next = session.pendingPing {
                session.pendingPing = nil
                session.answerPing(next)
            }
        }
    }

    private func receivedClose(_ frame: WebSocketFrame) {
        guard let context else { return }
        if closeSent {
            context.close(promise: nil)
            return
        }
        closeSent = true
        var data = frame.unmaskedData
        let code = data.readWebSocketErrorCode()
        var reply = context.channel.allocator.buffer(capacity: 2)
        if let code { reply.write(webSocketErrorCode: code) }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: Outbound

    /// Hands a frame to this viewer from any event loop.
    func deliver(_ frame: Frame) {
        onLoop { $0.offer(frame) }
    }

    /// Hands a control message to this viewer from any event loop, after everything delivered before it.
    func deliver(_ message: ControlMessage) {
        onLoop { session in
            if case .end = message, let held = session.outbox.flush() { session.write(held) }
            session.send(message)
        }
    }

    private func onLoop(_ body: @escaping @Sendable (WebSocketSession) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }

    private func offer(_ frame: Frame) {
        guard let delivery = outbox.offer(frame) else {
            counters.droppedFrames = outbox.droppedTotal
            return
        }
        write(delivery)
    }

    private func write(_ delivery: ViewerOutbox.Delivery) {
        guard !closeSent, case .viewer(let stream, _) = role else { return }
        if let dropped = delivery.dropped {
            stream.recordDropped(dropped.count)
            counters.droppedFrames = dropped.total
            send(.dropped(dropped))
        }
        counters.countSentFrame()
        stream.recordSent(delivery.frame)
        send(WebSocketFrame(fin: true, opcode: .binary, data: delivery.frame.message))
    }

    private func send(_ message: ControlMessage) {
        guard let context else { return }
        send(WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: message.json())))
    }

    /// Writes one frame and accounts its payload in `bufferedAmount` until the socket has taken it;
    /// `written` runs on the event loop once it has (or the write failed).
    private func send(_ frame: WebSocketFrame, written: (@Sendable (WebSocketSession) -> Void)? = nil) {
        guard let context, context.channel.isActive else { return }
        let bytes = frame.data.readableBytes
        handle(outbox.didQueue(bytes: bytes))
        counters.bufferedAmount = outbox.bufferedAmount
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in
            self.didWrite(bytes: bytes)
            written?(self)
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }

    private func didWrite(bytes: Int) {
        let (delivery, change) = outbox.didWrite(bytes: bytes)
        counters.bufferedAmount = outbox.bufferedAmount
        handle(change)
        if let delivery { write(delivery) }
    }

    private func handle(_ change: ViewerOutbox.StallChange?) {
        guard let change else { return }
        switch (role, change) {
        case (.viewer(let stream, _), .stalled):
            stream.viewerStalled(self)
            let timeout = server.configuration.stallTimeout
            stallTimer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
                logger.notice("closing lossless viewer that stayed above its high-water mark for \(timeout)")
                close(.policyViolation, reason: "lossless viewer stalled for \(timeout)")
            }
        case (.viewer(let stream, _), .recovered):
            stallTimer?.cancel()
            stallTimer = nil
            stream.viewerRecovered(self)
        case (.echo, .stalled):
            setReading(false)
        case (.echo, .recovered):
            setReading(true)
        case (.publisher, _):
            break
        }
    }

    // MARK: Closing and keep-alive

    /// Refuses a message that breaks the protocol: logs it and closes with the error's close code.
    private func refuse(_ error: FrameError) {
        logger.notice("refused message: \(error)")
        close(WebSocketErrorCode(codeNumber: Int(error.closeCode)), reason: error.description)
    }

    /// Starts the closing handshake. Reads continue (and are discarded) until the peer answers, so the
    /// close frame is not lost to a TCP reset; after a timeout the socket is closed regardless.
    func close(_ code: WebSocketErrorCode, reason: String) {
        guard let context, !closeSent else { return }
        closeSent = true
        message = nil
        currentFrame = nil
        if code != .normalClosure && code != .goingAway {
            logger.info("closing connection", metadata: ["code": "\(UInt16(webSocketErrorCode: code))", "reason": "\(reason)"])
        }
        var data = context.channel.allocator.buffer(capacity: 125)
        data.write(webSocketErrorCode: code)
        data.writeString(Self.truncated(reason, toUTF8Bytes: 123))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeHandshakeTimeout) { context.close(promise: nil) }
    }

    private func startKeepAlive(context: ChannelHandlerContext) {
        let interval = TimeAmount(server.configuration.pingInterval)
        let deadPeerTimeout = server.configuration.deadPeerTimeout
        let deadAfter = TimeAmount(deadPeerTimeout)
        keepAlive = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            guard let context = self.context, !readingPaused else { return }
            let now = NIODeadline.now()
            if now - lastHeard > deadAfter {
                logger.notice("closing connection: peer silent for longer than \(deadPeerTimeout)")
                context.close(promise: nil)
            } else if message != nil, now - lastMessageProgress > deadAfter {
                close(.policyViolation, reason: "message left unfinished for longer than \(deadPeerTimeout)")
            } else {
                send(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0)))
            }
        }
    }

    private func hello(stream: RelayStream, size: FrameSize?, policy: DeliveryPolicy?) -> ControlMessage.Hello {
        .init(
            role: policy == nil ? "publisher" : "viewer",
            stream: stream.name.rawValue,
            size: size,
            policy: policy,
            limits: server.configuration.limits,
            highWaterMark: server.configuration.highWaterMark,
            server: ServerContext.serverName
        )
    }

    private static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        var result = ""
        for character in text where result.utf8.count + character.utf8.count <= limit { result.append(character) }
        return result
    }
}

extension WebSocketSession: StreamViewer {}

extension WebSocketSession: StreamPublisher {
    func readingConditionChanged() {
        onLoop { session in
            guard case .publisher(let stream, _) = session.role else { return }
            session.setReading(stream.publisherMayRead)
        }
    }

    /// Stops or resumes reading the peer's socket; on the event loop.
    fileprivate func setReading(_ enabled: Bool) {
        guard let context, !closeSent, readingPaused == enabled else { return }
        readingPaused = !enabled
        if enabled {
            // The peer could not be heard while it was not read; its clocks start again now.
            lastHeard = .now()
            lastMessageProgress = .now()
        }
        context.channel.setOption(ChannelOptions.autoRead, value: enabled).whenComplete { _ in }
    }
}
