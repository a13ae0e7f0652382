package import NIOCore
import NIOWebSocket

/// The RFC 6455 rules of one connection, for either side, as a pure state machine: it is told what
/// arrived and what the application wants, and answers what to do. It owns no channel, so every rule
/// is tested without one (`WebSocketEndpointTests`); ``WebSocketEndpointHandler`` carries the answers out.
///
/// It judges framing (masking by role, reserved bits and opcodes, fragmentation), runs the closing
/// handshake, coalesces pongs and keeps the dead-peer and unfinished-message clocks. Once it has failed
/// the connection it ignores everything else the peer sent, even the rest of the same read: RFC 6455
/// 7.1.7 leaves nothing to act on after a protocol error.
package struct WebSocketEndpoint: Sendable {
    package enum Role: Sendable {
        case server
        case client
    }

    package struct Configuration: Sendable {
        package var role: Role
        /// Fragments one message may arrive in. Bytes are bounded by the receiver's limits already; this
        /// bounds the work a flood of empty continuation frames can cause. Browsers send about 2,048
        /// fragments for the largest (256 MiB) message.
        package var maxFragmentsPerMessage: Int
        /// A peer that sends nothing at all (not even a pong) for this long is dead; a message it started
        /// and did not finish for this long is closed, even if the peer answers pings.
        package var deadPeerTimeout: TimeAmount
        /// Whether permessage-deflate was agreed, so that RSV1 may mark a message as compressed.
        package var compressionNegotiated: Bool

        package init(
            role: Role, maxFragmentsPerMessage: Int = 1 << 16, deadPeerTimeout: TimeAmount = .seconds(60),
            compressionNegotiated: Bool = false
        ) {
            self.role = role
            self.maxFragmentsPerMessage = maxFragmentsPerMessage
            self.deadPeerTimeout = deadPeerTimeout
            self.compressionNegotiated = compressionNegotiated
        }
    }

    package enum MessageKind: Sendable {
        case text
        case binary
    }

    /// The first frame of a message.
    package struct MessageStart: Equatable, Sendable {
        package var kind: MessageKind
        /// RSV1 on the first frame: the message is compressed (permessage-deflate).
        package var compressed: Bool
        /// The first frame's payload length, and whether that frame is the whole message, so that a
        /// receiver can allocate the message once.
        package var firstFrameLength: Int
        package var isSingleFrame: Bool
    }

    /// What to do about something the peer sent.
    package enum Inbound {
        case none
        case messageStarted(MessageStart)
        /// Payload of the current message; its pieces arrive in order.
        case messagePiece(MessagePiece, endsMessage: Bool)
        case sendPong(ByteBuffer)
        /// The peer started the closing handshake: send `reply` back, then close the TCP connection.
        case replyToClose(peer: ClosePayload, reply: ClosePayload)
        /// The peer answered our close frame: the handshake is complete, close the TCP connection.
        case closeHandshakeCompleted(peer: ClosePayload)
        /// The peer broke the protocol: send a close frame with this body (`nil` when ours is sent
        /// already), then close the TCP connection without waiting for the peer.
        case fail(ClosePayload?)
    }

    /// What the keep-alive clock asks for.
    package enum KeepAlive: Equatable {
        case none
        case sendPing
        /// Silent for longer than the dead-peer timeout: close the TCP connection.
        case peerIsDead
        /// A message left unfinished for longer than the dead-peer timeout: close with this.
        case closeUnfinishedMessage(ClosePayload)
    }

    private enum State {
        case open
        /// Our close frame is sent; waiting for the peer's. Data the peer still sends is discarded.
        case closeSent
        /// Both close frames are exchanged; waiting for the TCP connection to end.
        case closed
        /// The connection failed; nothing the peer sends is acted on any more.
        case failed
    }

    package let configuration: Configuration
    private var state = State.open
    /// The message being received: its kind and how many frames it took so far.
    private var message: (kind: MessageKind, fragments: Int)?
    /// The data frame whose payload is arriving; `discarding` when it belongs to no message we deliver.
    private var currentFrame: (header: IncomingFrameHeader, discarding: Bool)?
    private var lastHeard: NIODeadline
    private var lastMessageProgress: NIODeadline
    /// While the application has stopped reading the peer, silence is its own doing: the clocks wait.
    private var readingPaused = false
    /// A pong handed to the socket and not yet written; while one is, only the latest ping is kept.
    private var pongInFlight = false
    private var pendingPing: ByteBuffer?

    package init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        self.lastHeard = now
        self.lastMessageProgress = now
    }

    /// Whether data messages may still be sent: no close frame has been sent or received.
    package var isOpen: Bool { state == .open }

    /// Whether the connection has failed or finished its closing handshake.
    package var isFinished: Bool { state == .closed || state == .failed }

    // MARK: Inbound

    /// Judges one part of what the peer sent.
    package mutating func receive(_ part: IncomingFramePart, now: NIODeadline) -> Inbound {
        guard state == .open || state == .closeSent else { return .none }
        lastHeard = now
        switch part {
        case .control(let frame):
            return receiveControl(frame)
        case .dataFrame(let header):
            return receiveDataFrame(header)
        case .payload(let bytes, let maskOffset, let endsFrame):
            guard let (header, discarding) = currentFrame else { return .none }
            if endsFrame { currentFrame = nil }
            guard !discarding else { return .none }
            lastMessageProgress = now
            let endsMessage = endsFrame && header.fin
            if endsMessage { message = nil }
            let piece = MessagePiece(bytes: bytes, maskKey: header.maskKey?.startingAt(offset: maskOffset))
            return .messagePiece(piece, endsMessage: endsMessage)
        }
    }

    /// The framing error the decoder found: it cannot find the next frame, so the connection fails.
    package mutating func receive(_ error: IncomingFrameError) -> Inbound {
        guard state == .open || state == .closeSent else { return .none }
        return fail(ClosePayload(code: UInt16(webSocketErrorCode: error.closeCode), reason: error.reason))
    }

    private mutating func receiveControl(_ frame: WebSocketFrame) -> Inbound {
        if let violation = framingViolation(masked: frame.maskKey != nil, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3, rsv1Allowed: false) {
            return fail(violation)
        }
        switch frame.opcode {
        case .ping:
            guard state == .open else { return .none }
            guard !pongInFlight else {
                pendingPing = frame.unmaskedData
                return .none
            }
            pongInFlight = true
            return .sendPong(frame.unmaskedData)
        case .pong:
            return .none
        case .connectionClose:
            let peer: ClosePayload
            do {
                peer = try ClosePayload(parsing: frame.unmaskedData)
            } catch {
                return fail(ClosePayload(code: error.code, reason: error.reason))
            }
            if state == .closeSent {
                state = .closed
                return .closeHandshakeCompleted(peer: peer)
            }
            state = .closed
            return .replyToClose(peer: peer, reply: ClosePayload(code: peer.code))
        default:
            return fail(ClosePayload(code: 1002, reason: "reserved control opcode \(UInt8(webSocketOpcode: frame.opcode))"))
        }
    }

    private mutating func receiveDataFrame(_ header: IncomingFrameHeader) -> Inbound {
        let startsMessage = header.opcode == .text || header.opcode == .binary
        if let violation = framingViolation(
            masked: header.maskKey != nil, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3,
            rsv1Allowed: configuration.compressionNegotiated && startsMessage
        ) {
            return fail(violation)
        }
        guard state == .open else {
            currentFrame = (header, discarding: true)
            return .none
        }
        switch header.opcode {
        case .text, .binary:
            guard message == nil else {
                return fail(ClosePayload(code: 1002, reason: "new message started before the previous one finished"))
            }
            let kind: MessageKind = header.opcode == .text ? .text : .binary
            message = (kind, 1)
            currentFrame = (header, discarding: false)
            return .messageStarted(MessageStart(
                kind: kind, compressed: header.rsv1, firstFrameLength: header.length, isSingleFrame: header.fin
            ))
        case .continuation:
            guard let (kind, fragments) = message else {
                return fail(ClosePayload(code: 1002, reason: "continuation frame without a message to continue"))
            }
            guard fragments < configuration.maxFragmentsPerMessage else {
                return fail(ClosePayload(
                    code: 1009, reason: "message split into more than \(configuration.maxFragmentsPerMessage) fragments"
                ))
            }
            message = (kind, fragments + 1)
            currentFrame = (header, discarding: false)
            return .none
        default:
            return fail(ClosePayload(code: 1002, reason: "reserved data opcode \(UInt8(webSocketOpcode: header.opcode))"))
        }
    }

    /// RFC 6455 5.1: a client masks every frame and a server none. 5.2: reserved bits are 0 unless an
    /// extension defines them; permessage-deflate defines RSV1 on a message's first frame only.
    private func framingViolation(masked: Bool, rsv1: Bool, rsv2: Bool, rsv3: Bool, rsv1Allowed: Bool) -> ClosePayload? {
        switch configuration.role {
        case .server where !masked:
            return ClosePayload(code: 1002, reason: "client frame is not masked")
        case .client where masked:
            return ClosePayload(code: 1002, reason: "server frame is masked")
        default:
            break
        }
        if rsv2 || rsv3 || (rsv1 && !rsv1Allowed) {
            return ClosePayload(code: 1002, reason: "reserved bits set without a negotiated extension that defines them")
        }
        return nil
    }

    // MARK: Outbound

    /// The application closes: returns the close frame to send, or `nil` if closing has begun already.
    /// The connection then waits for the peer's close frame (see ``receive(_:now:)``).
    package mutating func close(_ payload: ClosePayload) -> ClosePayload? {
        guard state == .open else { return nil }
        state = .closeSent
        message = nil
        return payload
    }

    /// Fails the connection (for a protocol error, or one the application finds): answers `.fail` with
    /// the close frame to send, `nil` when one was sent already. The TCP connection is closed either way.
    package mutating func fail(_ payload: ClosePayload) -> Inbound {
        let wasOpen = state == .open
        state = .failed
        message = nil
        currentFrame = nil
        pendingPing = nil
        return .fail(wasOpen ? payload : nil)
    }

    /// The pong handed over last is written: returns the next one to send, if a ping waited meanwhile.
    package mutating func pongWritten() -> ByteBuffer? {
        guard state == .open, let next = pendingPing else {
            pongInFlight = false
            return nil
        }
        pendingPing = nil
        return next
    }

    /// The application stopped or resumed reading the peer. Resuming starts both clocks again: the peer
    /// could not be heard while it was not read.
    package mutating func setReadingPaused(_ paused: Bool, now: NIODeadline) {
        readingPaused = paused
        if !paused {
            lastHeard = now
            lastMessageProgress = now
        }
    }

    /// The keep-alive clock ticked.
    package func keepAlive(now: NIODeadline) -> KeepAlive {
        guard state == .open, !readingPaused else { return .none }
        let timeout = configuration.deadPeerTimeout
        if now - lastHeard > timeout { return .peerIsDead }
        if message != nil, now - lastMessageProgress > timeout {
            let seconds = timeout.nanoseconds / 1_000_000_000
            return .closeUnfinishedMessage(ClosePayload(code: 1008, reason: "message left unfinished for longer than \(seconds) s"))
        }
        return .sendPing
    }
}
