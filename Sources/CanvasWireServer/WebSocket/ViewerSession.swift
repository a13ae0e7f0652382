import CanvasWireCore
import CanvasWireWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// A viewer's connection: it receives its stream's frames through a ``ViewerOutbox``, which decides
/// from the connection's `bufferedAmount`, and from the viewer's acks if it sends them, what to send
/// now, what to hold and what to drop.
///
/// Confined to its channel's event loop; the `@unchecked Sendable` conformance exists for the
/// deliveries the publisher's loop makes through ``deliver(_:)``, which hop onto that loop.
final class ViewerSession: WebSocketEndpointDelegate, RelayViewer, @unchecked Sendable {
    let counters: ConnectionCounters
    let policy: DeliveryPolicy
    let encoding: ViewerEncoding
    private let name: StreamName
    private let server: ServerContext
    private let eventLoop: any EventLoop
    private let logger: Logger
    private var endpoint: WebSocketEndpointHandler?
    /// The stream, held from the moment the connection opens until it closes.
    private var stream: RelayStream?
    private var outbox: ViewerOutbox
    /// Set when the connection opens, once permessage-deflate is known.
    private var encoder: ViewerFrameEncoder
    private var stallTimer: Scheduled<Void>?

    init(
        stream name: StreamName, policy: DeliveryPolicy, encoding: ViewerEncoding, ackWindow: Int?, socket: SocketReadback?,
        server: ServerContext, eventLoop: any EventLoop, logger: Logger
    ) {
        self.name = name
        self.policy = policy
        self.encoding = encoding
        self.encoder = ViewerFrameEncoder(encoding: encoding, compressionWindowBits: nil)
        self.server = server
        self.eventLoop = eventLoop
        self.counters = ConnectionCounters(id: server.nextConnectionID(), socket: socket, ackWindow: ackWindow)
        self.outbox = ViewerOutbox(
            policy: policy,
            highWaterMark: server.configuration.highWaterMark,
            lowWaterMark: server.configuration.lowWaterMark,
            ackWindow: ackWindow
        )
        var logger = logger
        logger[metadataKey: "connection"] = "\(counters.id)"
        self.logger = logger
    }

    var maxTextMessageBytes: Int { ServerContext.maxControlMessageBytes }

    func webSocketDidOpen(_ endpoint: WebSocketEndpointHandler) {
        self.endpoint = endpoint
        server.metrics.connectionOpened(role: .viewer)
        guard let stream = server.registry.checkOut(name) else {
            return endpoint.close(code: 1013, reason: server.tooManyStreams)
        }
        self.stream = stream
        encoder = ViewerFrameEncoder(encoding: encoding, compressionWindowBits: endpoint.compressionWindowBits)
        let welcome = stream.attach(viewer: self)
        server.cluster?.viewerAttached(self, to: stream)
        logger.info("viewer connected", metadata: ["stream": "\(name)", "policy": "\(policy)"])
        // The hello describes the latest frame, which follows it; the publisher message then names
        // the current run, to which every later frame belongs (docs/PROTOCOL.md, "Runs").
        let hello = server.hello(
            stream: stream, size: welcome.latest?.header.size, run: welcome.latestRun, policy: policy, encoding: encoding,
            ack: outbox.ackWindow
        )
        endpoint.send(.hello(hello))
        if let latest = welcome.latest { outbox.offer(latest) }
        outbox.offer(.publisher(welcome.publisher))
        pump()
    }

    func webSocketDidClose(_ endpoint: WebSocketEndpointHandler, peerClose: ClosePayload?, wasClean: Bool) {
        stallTimer?.cancel()
        if let stream {
            stream.detach(viewer: self)
            server.cluster?.viewerDetached(self, from: stream)
            server.registry.checkIn(stream)
        }
        server.metrics.connectionClosed(role: .viewer)
        logger.debug("connection closed")
        self.endpoint = nil
    }

    // MARK: What the viewer sends

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveText text: ByteBuffer) {
        do throws(FrameError) {
            let message = try ControlMessage(parsing: String(decoding: text.readableBytesView, as: UTF8.self))
            guard case .ack(let ack) = message else { return }
            try outbox.acknowledge(ack.sequence)
            pump()
        } catch {
            logger.notice("refused message: \(error)")
            endpoint.refuse(error)
        }
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didStartBinaryMessage start: WebSocketEndpoint.MessageStart) {
        endpoint.close(code: 1003, reason: "viewers do not send binary messages")
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveBinary piece: MessagePiece, endsMessage: Bool) {}

    // MARK: Delivery

    /// Hands a frame to this viewer from any event loop.
    func deliver(_ frame: Frame) {
        onLoop { session in
            session.outbox.offer(frame)
            session.pump()
        }
    }

    /// Hands a control message to this viewer from any event loop, after everything delivered before it.
    func deliver(_ message: ControlMessage) {
        onLoop { session in
            session.outbox.offer(message)
            session.pump()
        }
    }

    /// Closes the connection from any event loop: a cluster node closes its lossless viewers when
    /// frames were lost between nodes, rather than let them skip one.
    func disconnect(code: UInt16, reason: String) {
        onLoop { $0.endpoint?.close(code: code, reason: reason) }
    }

    private func onLoop(_ body: @escaping @Sendable (ViewerSession) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }

    /// Writes whatever the outbox lets go now, then holds back or releases the publisher to match.
    private func pump() {
        while let outgoing = outbox.nextOutgoing() {
            switch outgoing {
            case .frame(let delivery): write(delivery)
            case .message(let message): endpoint?.send(message)
            }
        }
        counters.framesInFlight = outbox.framesInFlight
        counters.droppedFrames = outbox.droppedTotal
        handle(outbox.takeStallChange())
    }

    private func write(_ delivery: ViewerOutbox.Delivery) {
        guard let endpoint, endpoint.isOpen, let stream else { return }
        if let dropped = delivery.dropped {
            stream.recordDropped(dropped.count)
            endpoint.send(.dropped(dropped))
        }
        let message = encoder.message(
            for: delivery.frame, stream: stream, deflaters: server.deflaters,
            allocator: endpoint.allocator
        )
        counters.countSentFrame()
        stream.recordSent(bytes: message.bytes.readableBytes)
        endpoint.send(.binary, message.bytes, compressed: message.compressed)
    }

    // MARK: bufferedAmount

    func webSocket(_ endpoint: WebSocketEndpointHandler, didQueue bytes: Int) {
        outbox.didQueue(bytes: bytes)
        counters.bufferedAmount = outbox.bufferedAmount
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didWrite bytes: Int, opcode: WebSocketOpcode, succeeded: Bool) {
        outbox.didWrite(bytes: bytes)
        counters.bufferedAmount = outbox.bufferedAmount
        pump()
    }

    private func handle(_ change: WaterMarks.Change?) {
        switch change {
        case .stalled:
            stream?.viewerStalled(self)
            let timeout = server.configuration.stallTimeout
            stallTimer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
                self.logger.notice("closing lossless viewer that held its publisher back (high-water mark or unacknowledged frames) for \(timeout)")
                self.endpoint?.close(code: 1008, reason: "lossless viewer stalled for \(timeout)")
            }
        case .recovered:
            stallTimer?.cancel()
            stallTimer = nil
            stream?.viewerRecovered(self)
        case nil:
            break
        }
    }
}
