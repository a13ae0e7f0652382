import CanvasWireCore
import CanvasWireWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// The client's side of an upgraded connection, as the delegate of the shared
/// ``WebSocketEndpointHandler``: it puts messages together, hands them to the consumer with the
/// browser's figures kept up to date, and stops reading the socket while the consumer is behind.
///
/// Mutable state is confined to the channel's event loop; public entry points hop onto it, which is
/// what the `@unchecked Sendable` conformance stands for.
final class ClientSession: WebSocketEndpointDelegate, @unchecked Sendable {
    let eventLoop: any EventLoop
    let shared = SharedState()
    private let maxMessageBytes: Int
    private let receiveBufferMessages: Int
    private let messages: AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>.Continuation

    private var endpoint: WebSocketEndpointHandler?
    /// The binary message being put together, when it arrives in more than one piece.
    private var assembling: ByteBuffer?
    /// What to allocate for the current binary message if it does not arrive in one piece.
    private var messageCapacity = 0
    private var unconsumedMessages = 0
    private var readingPaused = false
    private var failure: ClosePayload?
    /// Whether binary messages are sent compressed where permessage-deflate was agreed; set before
    /// the connection opens.
    var compressesOutgoing = false
    /// Made at the first message compressed.
    private var deflater: MessageDeflater?
    private var drainWaiters: [(threshold: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var closedWaiters: [CheckedContinuation<CloseInfo, Never>] = []

    /// Figures other threads read: readyState, bufferedAmount and how the connection closed.
    final class SharedState: Sendable {
        let readyState = Atomic<Int>(ReadyState.connecting.rawValue)
        let bufferedAmount = Atomic<Int>(0)
        let closeInfo = Mutex<CloseInfo?>(nil)
        /// Binary messages the socket has fully taken: a reconnecting sender resumes after them.
        let binaryMessagesWritten = Atomic<Int>(0)
        /// The extensions the server agreed to, as its handshake answer named them.
        let extensions = Mutex("")
    }

    init(
        eventLoop: any EventLoop,
        maxMessageBytes: Int,
        receiveBufferMessages: Int,
        messages: AsyncThrowingStream<WebSocketConnection.ReceivedMessage, any Error>.Continuation
    ) {
        self.eventLoop = eventLoop
        self.maxMessageBytes = maxMessageBytes
        self.receiveBufferMessages = max(1, receiveBufferMessages)
        self.messages = messages
    }

    var maxTextMessageBytes: Int { maxMessageBytes }

    // MARK: Lifecycle

    func webSocketDidOpen(_ endpoint: WebSocketEndpointHandler) {
        self.endpoint = endpoint
        shared.readyState.store(ReadyState.open.rawValue, ordering: .releasing)
    }

    func webSocketIsClosing(_ endpoint: WebSocketEndpointHandler) {
        shared.readyState.store(ReadyState.closing.rawValue, ordering: .releasing)
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didFail payload: ClosePayload) {
        failure = payload
    }

    func webSocketDidClose(_ endpoint: WebSocketEndpointHandler, peerClose: ClosePayload?, wasClean: Bool) {
        // A connection that failed ends as the browser reports one: 1006, not clean.
        let info = failure.map { CloseInfo(code: 1006, reason: $0.reason, wasClean: false) }
            ?? peerClose.map { CloseInfo(code: $0.code ?? 1005, reason: $0.reason, wasClean: wasClean) }
            ?? CloseInfo(code: 1006, reason: "connection lost", wasClean: false)
        shared.closeInfo.withLock { $0 = $0 ?? info }
        shared.readyState.store(ReadyState.closed.rawValue, ordering: .releasing)
        if let failure {
            messages.finish(throwing: WebSocketClientError.protocolViolation(failure.reason))
        } else {
            messages.finish()
        }
        for waiter in drainWaiters { waiter.continuation.resume(throwing: WebSocketClientError.closed(info)) }
        drainWaiters = []
        for waiter in closedWaiters { waiter.resume(returning: info) }
        closedWaiters = []
        self.endpoint = nil
    }

    // MARK: Inbound

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveText text: ByteBuffer) {
        deliver(.text(String(decoding: text.readableBytesView, as: UTF8.self)), wireBytes: endpoint.messageWireBytes)
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didStartBinaryMessage start: WebSocketEndpoint.MessageStart) {
        guard start.firstFrameLength <= maxMessageBytes else {
            return endpoint.fail(code: 1009, reason: "message larger than \(maxMessageBytes) bytes")
        }
        assembling = nil
        messageCapacity = start.isSingleFrame ? start.firstFrameLength : 0
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveBinary piece: MessagePiece, endsMessage: Bool) {
        // A message that arrived in one read is delivered as the slice of the read buffer it is.
        if assembling == nil, endsMessage { return deliver(.binary(piece.unmaskedBytes), wireBytes: endpoint.messageWireBytes) }
        var buffer = assembling ?? endpoint.allocator.buffer(capacity: messageCapacity)
        assembling = nil  // leaves `buffer` the only reference, so appending does not copy it
        guard buffer.readableBytes + piece.count <= maxMessageBytes else {
            return endpoint.fail(code: 1009, reason: "message larger than \(maxMessageBytes) bytes")
        }
        piece.write(into: &buffer)
        if endsMessage {
            deliver(.binary(buffer), wireBytes: endpoint.messageWireBytes)
        } else {
            assembling = buffer
        }
    }

    /// Hands a message to the consumer; once it holds the configured number unconsumed, the socket
    /// is no longer read until the consumer catches up.
    private func deliver(_ message: WebSocketConnection.Message, wireBytes: Int) {
        unconsumedMessages += 1
        messages.yield(.init(message: message, receivedAtMicros: WallClock.microsecondsNow(), wireBytes: wireBytes))
        if unconsumedMessages >= receiveBufferMessages, !readingPaused {
            readingPaused = true
            endpoint?.setReading(false)
        }
    }

    /// Called (on any thread) each time the consumer takes a message.
    func messageConsumed() {
        eventLoop.execute {
            self.unconsumedMessages -= 1
            if self.readingPaused, self.unconsumedMessages < self.receiveBufferMessages {
                self.readingPaused = false
                self.endpoint?.setReading(true)
            }
        }
    }

    // MARK: Outbound

    /// Queues a message, compressed if that was asked for and makes it smaller; `bufferedAmount`
    /// counts what is queued (the compressed bytes) until the socket has taken it.
    func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer) throws(WebSocketClientError) {
        var payload = data
        var compressed = false
        if let endpoint, let deflater = compressor(for: opcode, endpoint),
            let smaller = try? deflater.compress(data, allocator: endpoint.allocator), smaller.readableBytes < data.readableBytes
        {
            (payload, compressed) = (smaller, true)
        }
        guard let endpoint, endpoint.send(opcode, payload, compressed: compressed) else {
            throw .closed(shared.closeInfo.withLock { $0 } ?? CloseInfo(code: 1006, reason: "not open", wasClean: false))
        }
    }

    /// The compressor for a message, when it goes compressed: binary messages, once agreed and asked for.
    private func compressor(for opcode: WebSocketOpcode, _ endpoint: WebSocketEndpointHandler) -> MessageDeflater? {
        guard compressesOutgoing, opcode == .binary, let windowBits = endpoint.compressionWindowBits else { return nil }
        if deflater == nil { deflater = try? MessageDeflater(windowBits: windowBits) }
        return deflater
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didQueue bytes: Int) {
        shared.bufferedAmount.store(endpoint.bufferedAmount, ordering: .relaxed)
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didWrite bytes: Int, opcode: WebSocketOpcode, succeeded: Bool) {
        if succeeded, opcode == .binary {
            shared.binaryMessagesWritten.add(1, ordering: .relaxed)
        }
        let bufferedAmount = endpoint.bufferedAmount
        shared.bufferedAmount.store(bufferedAmount, ordering: .relaxed)
        let ready = drainWaiters.filter { bufferedAmount <= $0.threshold }
        drainWaiters.removeAll { bufferedAmount <= $0.threshold }
        ready.forEach { $0.continuation.resume() }
    }

    func waitForBufferedAmount(atMost threshold: Int, continuation: CheckedContinuation<Void, any Error>) {
        if shared.bufferedAmount.load(ordering: .relaxed) <= threshold {
            continuation.resume()
        } else if endpoint == nil {
            continuation.resume(throwing: WebSocketClientError.closed(shared.closeInfo.withLock { $0 } ?? CloseInfo(code: 1006, reason: "", wasClean: false)))
        } else {
            drainWaiters.append((threshold, continuation))
        }
    }

    func waitUntilClosed(continuation: CheckedContinuation<CloseInfo, Never>) {
        if endpoint == nil, let info = shared.closeInfo.withLock({ $0 }) {
            continuation.resume(returning: info)
        } else {
            closedWaiters.append(continuation)
        }
    }

    /// Starts the closing handshake; the server answers and closes the socket.
    func close(code: UInt16, reason: String) {
        endpoint?.close(code: code, reason: reason)
    }
}
