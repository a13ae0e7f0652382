import CanvasWireCore
import CanvasWireWebSocket
import Logging
import NIOCore

/// A publisher's connection: each binary message it sends becomes a frame of its stream.
///
/// Confined to its channel's event loop; the `@unchecked Sendable` conformance exists for the notices
/// viewers on other loops send through ``readingConditionChanged()``, which hop onto that loop.
final class PublisherSession: WebSocketEndpointDelegate, RelayPublisher, @unchecked Sendable {
    let counters: ConnectionCounters
    private let name: StreamName
    private let bareSize: FrameSize?
    private let continuing: String?
    private let server: ServerContext
    private let eventLoop: any EventLoop
    private let logger: Logger
    private var endpoint: WebSocketEndpointHandler?
    /// The stream, held from the moment the connection opens until it closes.
    private var stream: RelayStream?
    private var message: MessageAssembly?
    private var lastPublishedSequence: UInt64?
    private var attached = false
    /// In a cluster: messages that arrived whole while the cluster was deciding whether this publisher
    /// may publish (reading stops at once, but what was read already is kept), and whether it holds
    /// the stream's claim. Kept unfinished: a delta applies, and a bare frame is numbered, only once
    /// the publisher is attached and its run is known.
    private var heldUntilClaimed: [MessageAssembly]?
    private var claimed = false
    /// The size of the last full RGBA8 frame this connection published: what a delta may apply to.
    private var fullFrameSize: FrameSize?
    private var deltaDecoder: DeltaDecoder?

    init(
        stream name: StreamName, bareSize: FrameSize?, continuing run: String?, server: ServerContext,
        eventLoop: any EventLoop, logger: Logger
    ) {
        self.name = name
        self.bareSize = bareSize
        self.continuing = run
        self.server = server
        self.eventLoop = eventLoop
        self.counters = ConnectionCounters(id: server.nextConnectionID())
        var logger = logger
        logger[metadataKey: "connection"] = "\(counters.id)"
        self.logger = logger
    }

    var maxTextMessageBytes: Int { ServerContext.maxControlMessageBytes }

    func webSocketDidOpen(_ endpoint: WebSocketEndpointHandler) {
        self.endpoint = endpoint
        server.metrics.connectionOpened(role: .publisher)
        guard let stream = server.registry.checkOut(name) else {
            return endpoint.close(code: 1013, reason: server.tooManyStreams)
        }
        self.stream = stream
        guard let cluster = server.cluster else { return attach(to: stream, endpoint: endpoint) }
        // One publisher cluster-wide: nothing is read from this one until the cluster agrees.
        endpoint.setReading(false)
        heldUntilClaimed = []
        let token = ClaimToken(self) { [eventLoop] reason in
            eventLoop.execute { self.endpoint?.close(code: 1008, reason: reason) }
        }
        cluster.claim(name, token: token, on: eventLoop).assumeIsolated().whenComplete { result in
            guard let endpoint = self.endpoint else {
                if case .success = result { cluster.release(self.name, holder: self) }
                return
            }
            switch result {
            case .success:
                self.claimed = true
                self.attach(to: stream, endpoint: endpoint)
                endpoint.setReading(stream.publisherMayRead)
            case .failure(let error):
                let error = error as? ClusterError ?? .unreachable(stream: self.name.rawValue, reason: "\(error)")
                self.logger.notice("publisher refused by the cluster: \(error)")
                endpoint.close(code: error.closeCode, reason: error.closeReason)
            }
        }
    }

    private func attach(to stream: RelayStream, endpoint: WebSocketEndpointHandler) {
        guard let (run, continued) = stream.attach(publisher: self, continuing: continuing) else {
            return endpoint.close(code: 1008, reason: "stream \"\(name)\" already has a publisher")
        }
        attached = true
        logger.info("publisher connected", metadata: ["stream": "\(name)", "run": "\(run)", "continued": "\(continued)"])
        let hello = server.hello(stream: stream, size: stream.latestFrame?.header.size, run: (run, .live), policy: nil)
        endpoint.send(.hello(hello))
        let held = heldUntilClaimed ?? []
        heldUntilClaimed = nil
        for var assembly in held { finish(&assembly) }
    }

    func webSocketDidClose(_ endpoint: WebSocketEndpointHandler, peerClose: ClosePayload?, wasClean: Bool) {
        if let stream {
            if attached { stream.detach(publisher: self) }
            if claimed { server.cluster?.release(name, holder: self) }
            server.registry.checkIn(stream)
        }
        server.metrics.connectionClosed(role: .publisher)
        logger.debug("connection closed")
        self.endpoint = nil
    }

    func webSocketIsClosing(_ endpoint: WebSocketEndpointHandler) {
        message = nil
    }

    // MARK: Messages

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveText text: ByteBuffer) {
        let control: ControlMessage
        do throws(FrameError) {
            control = try ControlMessage(parsing: String(decoding: text.readableBytesView, as: UTF8.self))
        } catch {
            return refuse(error)
        }
        if case .end(let end) = control, let stream, attached {
            logger.info("publisher ended its stream", metadata: ["stream": "\(name)"])
            stream.end(lastSequence: end.lastSequence ?? lastPublishedSequence)
        }
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didStartBinaryMessage start: WebSocketEndpoint.MessageStart) {
        if let bareSize {
            var buffer = endpoint.allocator.buffer(capacity: FrameHeader.v1Length + bareSize.rgbaByteCount)
            buffer.writeRepeatingByte(0, count: FrameHeader.v1Length)  // the header is stamped at the end
            message = MessageAssembly(kind: .bare(expected: bareSize.rgbaByteCount), buffer: buffer)
        } else {
            let reader = FrameMessageReader(limits: server.configuration.limits)
            message = MessageAssembly(kind: .frame(reader), buffer: endpoint.allocator.buffer(capacity: 0))
        }
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveBinary piece: MessagePiece, endsMessage: Bool) {
        do throws(FrameError) {
            guard var whole = try message.append(piece, endingMessage: endsMessage) else { return }
            if heldUntilClaimed != nil {
                heldUntilClaimed?.append(whole)
            } else {
                finish(&whole)
            }
        } catch {
            refuse(error)
        }
    }

    /// Takes `assembly` inout so that stamping a bare frame's header writes into the one buffer.
    private func finish(_ assembly: inout MessageAssembly) {
        switch assembly.kind {
        case .frame(let reader):
            do throws(FrameError) {
                let header = try reader.finish()
                if header.pixelFormat == .rgba8Delta { return try publishDelta(header, message: assembly.buffer) }
                fullFrameSize = header.pixelFormat == .rgba8 ? header.size : nil
                publish(Frame(header: header, message: assembly.buffer))
            } catch {
                refuse(error)
            }
        case .bare(let expected):
            let payload = assembly.buffer.readableBytes - FrameHeader.v1Length
            guard payload == expected, let size = bareSize, let stream else {
                return refuse(.payloadSizeMismatch(expected: expected, actual: payload))
            }
            let header = FrameHeader(
                pixelFormat: .rgba8, width: size.width, height: size.height,
                sequence: stream.stampSequence(), captureTimeMicros: WallClock.microsecondsNow()
            )
            assembly.stamp(header)
            publish(Frame(header: header, message: assembly.buffer))
        case .echo:
            preconditionFailure("a publisher assembles frames, not echoes")
        }
    }

    /// Applies a delta to the frame the stream holds and publishes the full frame it makes. The held
    /// frame is copied first (viewers may still be writing it): 0.5 ms more server CPU a 1080p frame
    /// than a whole one (tools/bench/publish-delta, BENCHMARKS.md), a cost only publishers that send
    /// deltas pay. The publisher's own message is what viewers in step get.
    private func publishDelta(_ header: FrameHeader, message: ByteBuffer) throws(FrameError) {
        guard let stream, let base = stream.latestFrame, fullFrameSize == header.size,
            base.header.pixelFormat == .rgba8, base.header.size == header.size
        else { throw .deltaWithoutBase(header.size) }
        if deltaDecoder?.frameSize != header.size {
            deltaDecoder = try DeltaDecoder(frameSize: header.size, limits: server.configuration.limits)
        }
        let payload = header.payload(of: message)
        _ = try payload.withUnsafeReadableBytes { bytes in
            Result { () throws(FrameError) in try deltaDecoder!.validate(bytes) }
        }.get()
        var fullHeader = header
        fullHeader.pixelFormat = .rgba8
        fullHeader.headerLength = FrameHeader.v1Length
        let pixels = header.size.rgbaByteCount
        guard let endpoint else { return }
        var full = endpoint.allocator.buffer(capacity: FrameHeader.v1Length + pixels)
        fullHeader.withV1Bytes { _ = full.writeBytes($0) }
        var basePixels = base.payload
        full.writeBuffer(&basePixels)
        full.withUnsafeMutableReadableBytes { bytes in
            payload.withUnsafeReadableBytes { delta in
                deltaDecoder!.apply(delta, to: UnsafeMutableRawBufferPointer(rebasing: bytes[FrameHeader.v1Length...]))
            }
        }
        let frame = Frame(header: fullHeader, message: full)
        if message.readableBytes < full.readableBytes {
            _ = frame.variants.message(.init(kind: .delta)) { message }
        }
        publish(frame, fromDelta: DeltaOrigin(base: base.variants, payload: payload))
    }

    private func publish(_ frame: Frame, fromDelta delta: DeltaOrigin? = nil) {
        guard let stream, attached else { return }
        lastPublishedSequence = frame.header.sequence
        counters.countSentFrame()
        stream.publish(frame, fromDelta: delta)
    }

    private func refuse(_ error: FrameError) {
        logger.notice("refused message: \(error)")
        endpoint?.refuse(error)
    }

    // MARK: Backpressure

    func readingConditionChanged() {
        if eventLoop.inEventLoop {
            updateReading()
        } else {
            eventLoop.execute { self.updateReading() }
        }
    }

    private func updateReading() {
        guard let stream else { return }
        endpoint?.setReading(stream.publisherMayRead)
    }
}
