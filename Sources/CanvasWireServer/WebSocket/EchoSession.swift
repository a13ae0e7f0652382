import CanvasWireCore
import CanvasWireWebSocket
import NIOCore
import NIOWebSocket

/// `WS /echo`: every message comes back unchanged, text as text and binary as binary, up to the
/// server's payload limit (round trips and conformance suites need large messages of both kinds).
///
/// A peer that sends faster than it reads is not read while its echoes sit above the high-water mark,
/// so the echo costs the server no more than that much memory. Confined to its channel's event loop.
final class EchoSession: WebSocketEndpointDelegate {
    private let server: ServerContext
    private let limit: Int
    private var marks: WaterMarks
    private var message: MessageAssembly?
    /// Made at the first echo to a client that agreed to permessage-deflate: every echo to it is
    /// compressed, so a conformance suite's compression cases see compressed answers.
    private var deflater: MessageDeflater?

    init(server: ServerContext) {
        let configuration = server.configuration
        self.server = server
        self.limit = configuration.limits.maxPayloadBytes
        self.marks = WaterMarks(high: configuration.highWaterMark, low: configuration.lowWaterMark)
    }

    var maxTextMessageBytes: Int { limit }

    func webSocketDidOpen(_ endpoint: WebSocketEndpointHandler) {
        server.metrics.connectionOpened(role: .echo)
    }

    func webSocketDidClose(_ endpoint: WebSocketEndpointHandler, peerClose: ClosePayload?, wasClean: Bool) {
        server.metrics.connectionClosed(role: .echo)
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveText text: ByteBuffer) {
        echo(.text, text, on: endpoint)
    }

    private func echo(_ opcode: WebSocketOpcode, _ message: ByteBuffer, on endpoint: WebSocketEndpointHandler) {
        guard let windowBits = endpoint.compressionWindowBits,
            let deflater = try? deflater ?? MessageDeflater(windowBits: windowBits),
            let compressed = try? deflater.compress(message, allocator: endpoint.allocator)
        else {
            endpoint.send(opcode, message)
            return
        }
        self.deflater = deflater
        endpoint.send(opcode, compressed, compressed: true)
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didStartBinaryMessage start: WebSocketEndpoint.MessageStart) {
        let capacity = start.isSingleFrame ? min(start.firstFrameLength, limit) : 0
        message = MessageAssembly(kind: .echo(limit: limit), buffer: endpoint.allocator.buffer(capacity: capacity))
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveBinary piece: MessagePiece, endsMessage: Bool) {
        do throws(FrameError) {
            guard let whole = try message.append(piece, endingMessage: endsMessage) else { return }
            echo(.binary, whole.buffer, on: endpoint)
        } catch {
            endpoint.refuse(error)
        }
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didQueue bytes: Int) {
        marks.didQueue(bytes: bytes)
        if marks.takeChange() == .stalled { endpoint.setReading(false) }
    }

    func webSocket(_ endpoint: WebSocketEndpointHandler, didWrite bytes: Int, opcode: WebSocketOpcode, succeeded: Bool) {
        marks.didWrite(bytes: bytes)
        if marks.takeChange() == .recovered { endpoint.setReading(true) }
    }
}
