import CanvasWireCore
import NIOCore
import NIOWebSocket
import Synchronization

/// The client side of an upgraded connection: reassembles messages, answers pings and closes, and
/// accounts every write in `bufferedAmount` until the socket has taken it.
///
/// A plain NIO handler rather than swift-websocket's `WSClient`, because `bufferedAmount` needs the
/// completion of each individual write and the receiver needs to stop reading the socket while its
/// consumer is behind; the async writer of a higher-level client hides both.
///
/// Mutable state is confined to the channel's event loop; public entry points hop onto it.
final class ClientSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let eventLoop: any EventLoop
    let shared: SharedState
    private let maxMessageBytes: Int
    private let receiveBufferMessages: Int
    private let messages: AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>.Continuation

    private var context: ChannelHandlerContext?
    private var assembling: (opcode: WebSocketOpcode, buffer: ByteBuffer)?
    private var unconsumedMessages = 0
    private var readingPaused = false
    private var closeSent = false
    private var peerClose: CloseInfo?
    private var bufferedAmount = 0
    private var drainWaiters: [(threshold: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var closedWaiters: [CheckedContinuation<CloseInfo, Never>] = []

    /// Figures other threads read: readyState, bufferedAmount and how the connection closed.
    final class SharedState: Sendable {
        let readyState = Atomic<Int>(ReadyState.connecting.rawValue)
        let bufferedAmount = Atomic<Int>(0)
        let closeInfo = Mutex<CloseInfo?>(nil)
        /// Binary messages the socket has fully taken: a reconnecting sender resumes after them.
        let binaryMessagesWritten = Atomic<Int>(0)
    }

    init(
        eventLoop: any EventLoop,
        maxMessageBytes: Int,
        receiveBufferMessages: Int,
        messages: AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>.Continuation
    ) {
        self.eventLoop = eventLoop
        self.shared = SharedState()
        self.maxMessageBytes = maxMessageBytes
        self.receiveBufferMessages = max(1, receiveBufferMessages)
        self.messages = messages
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        shared.readyState.store(ReadyState.open.rawValue, ordering: .releasing)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let info = peerClose.map { CloseInfo(code: $0.code, reason: $0.reason, wasClean: closeSent) }
            ?? CloseInfo(code: 1006, reason: "connection lost", wasClean: false)
        shared.closeInfo.withLock { $0 = $0 ?? info }
        shared.readyState.store(ReadyState.closed.rawValue, ordering: .releasing)
        messages.finish()
        for waiter in drainWaiters { waiter.continuation.resume(throwing: WebSocketClientError.closed(info)) }
        drainWaiters = []
        for waiter in closedWaiters { waiter.resume(returning: info) }
        closedWaiters = []
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            write(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData), promise: nil)
        case .pong:
            break
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1005
            let reason = data.readString(length: data.readableBytes) ?? ""
            peerClose = CloseInfo(code: code, reason: reason, wasClean: true)
            shared.readyState.store(ReadyState.closing.rawValue, ordering: .releasing)
            if closeSent {
                context.close(promise: nil)
            } else {
                closeSent = true
                var reply = context.channel.allocator.buffer(capacity: 2)
                if code != 1005 { reply.writeInteger(code) }
                let closed = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)))
                closed.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        case .text, .binary:
            guard assembling == nil else { return fail(1002, "new message started before the previous one finished") }
            guard frame.fin else {
                assembling = (frame.opcode, context.channel.allocator.buffer(capacity: frame.length))
                return append(frame)
            }
            // A message in one frame (what servers send) is delivered as it is, without copying it
            // into a buffer of its own.
            guard frame.length <= maxMessageBytes else { return fail(1009, "message larger than \(maxMessageBytes) bytes") }
            complete(frame.opcode, frame.unmaskedData)
        case .continuation:
            guard assembling != nil else { return fail(1002, "continuation frame without a message") }
            append(frame)
        default:
            fail(1002, "reserved opcode")
        }
    }

    private func append(_ frame: WebSocketFrame) {
        guard case (let opcode, var buffer)? = assembling else { return }
        assembling = nil  // leaves `buffer` the only reference, so appending does not copy it
        guard buffer.readableBytes + frame.length <= maxMessageBytes else {
            return fail(1009, "message larger than \(maxMessageBytes) bytes")
        }
        var data = frame.unmaskedData
        buffer.writeBuffer(&data)
        guard frame.fin else {
            assembling = (opcode, buffer)
            return
        }
        complete(opcode, buffer)
    }

    private func complete(_ opcode: WebSocketOpcode, _ buffer: ByteBuffer) {
        if opcode == .text {
            guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
                return fail(1007, "text message is not valid UTF-8")
            }
            deliver(.text(text))
        } else {
            deliver(.binary(buffer))
        }
    }

    /// Hands a message to the consumer; once it holds the configured number unconsumed, the socket
    /// is no longer read until the consumer catches up.
    private func deliver(_ message: WebSocketConnection.Message) {
        unconsumedMessages += 1
        messages.yield(.init(message: message, receivedAtMicros: WallClock.microsecondsNow()))
        if unconsumedMessages >= receiveBufferMessages, !readingPaused, let context {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Called (on any thread) each time the consumer takes a message.
    func messageConsumed() {
        eventLoop.execute {
            self.unconsumedMessages -= 1
            if self.readingPaused, self.unconsumedMessages < self.receiveBufferMessages, let context = self.context {
                self.readingPaused = false
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            }
        }
    }

    // MARK: Outbound

    /// Queues a message; `bufferedAmount` counts its payload until the socket has taken it.
    func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer) throws(WebSocketClientError) {
        guard context != nil, !closeSent else {
            throw .closed(shared.closeInfo.withLock { $0 } ?? CloseInfo(code: 1006, reason: "not open", wasClean: false))
        }
        let bytes = data.readableBytes
        bufferedAmount += bytes
        shared.bufferedAmount.store(bufferedAmount, ordering: .relaxed)
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result, opcode == .binary {
                self.shared.binaryMessagesWritten.add(1, ordering: .relaxed)
            }
            self.written(bytes)
        }
        write(WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data), promise: promise)
    }

    private func written(_ bytes: Int) {
        bufferedAmount -= bytes
        shared.bufferedAmount.store(bufferedAmount, ordering: .relaxed)
        let ready = drainWaiters.filter { bufferedAmount <= $0.threshold }
        drainWaiters.removeAll { bufferedAmount <= $0.threshold }
        ready.forEach { $0.continuation.resume() }
    }

    func waitForBufferedAmount(atMost threshold: Int, continuation: CheckedContinuation<Void, any Error>) {
        if bufferedAmount <= threshold {
            continuation.resume()
        } else if context == nil {
            continuation.resume(throwing: WebSocketClientError.closed(shared.closeInfo.withLock { $0 } ?? CloseInfo(code: 1006, reason: "", wasClean: false)))
        } else {
            drainWaiters.append((threshold, continuation))
        }
    }

    func waitUntilClosed(continuation: CheckedContinuation<CloseInfo, Never>) {
        if context == nil, let info = shared.closeInfo.withLock({ $0 }) {
            continuation.resume(returning: info)
        } else {
            closedWaiters.append(continuation)
        }
    }

    /// Starts the closing handshake; the server answers and closes the socket.
    func close(code: UInt16, reason: String) {
        guard let context, !closeSent else { return }
        closeSent = true
        shared.readyState.store(ReadyState.closing.rawValue, ordering: .releasing)
        var data = context.channel.allocator.buffer(capacity: 125)
        data.writeInteger(code)
        data.writeString(String(decoding: reason.utf8.prefix(123), as: UTF8.self))
        write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data), promise: nil)
        // Read again (if paused) so the server's close frame is seen, and do not wait for ever.
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(5)) { context.close(promise: nil) }
    }

    private func fail(_ code: UInt16, _ reason: String) {
        messages.finish(throwing: WebSocketClientError.protocolViolation(reason))
        close(code: code, reason: reason)
    }

    private func write(_ frame: WebSocketFrame, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }
}
