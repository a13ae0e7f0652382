package import NIOCore
package import NIOWebSocket

/// What one side of CanvasWire does with a WebSocket connection: the server's publisher, viewer and
/// echo sessions and the client's connection. ``WebSocketEndpointHandler`` calls it on the channel's
/// event loop, after the RFC 6455 rules have been applied.
package protocol WebSocketEndpointDelegate: AnyObject {
    /// The largest text message this side accepts; larger ones fail the connection with 1009.
    var maxTextMessageBytes: Int { get }

    /// The connection is open and the handler in place: the delegate may send.
    func webSocketDidOpen(_ endpoint: WebSocketEndpointHandler)

    /// A complete text message, valid UTF-8.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveText text: ByteBuffer)

    /// A binary message begins; its payload follows in pieces.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didStartBinaryMessage start: WebSocketEndpoint.MessageStart)

    /// A piece of the current binary message, still masked if the peer is a client.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didReceiveBinary piece: MessagePiece, endsMessage: Bool)

    /// `bytes` were handed to the connection: `bufferedAmount` rose by them.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didQueue bytes: Int)

    /// The socket took a message of `bytes` (or the write failed): `bufferedAmount` fell by them.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didWrite bytes: Int, opcode: WebSocketOpcode, succeeded: Bool)

    /// A close frame was sent or received, or the connection failed: no more data messages go out.
    func webSocketIsClosing(_ endpoint: WebSocketEndpointHandler)

    /// The connection failed, for a protocol error of the peer's or a message the delegate refused;
    /// `payload` is the close frame sent to the peer.
    func webSocket(_ endpoint: WebSocketEndpointHandler, didFail payload: ClosePayload)

    /// The connection is gone. `peerClose` is the peer's close frame, if one arrived; `wasClean` tells
    /// whether both close frames were exchanged.
    func webSocketDidClose(_ endpoint: WebSocketEndpointHandler, peerClose: ClosePayload?, wasClean: Bool)
}

extension WebSocketEndpointDelegate {
    package func webSocket(_ endpoint: WebSocketEndpointHandler, didQueue bytes: Int) {}
    package func webSocket(_ endpoint: WebSocketEndpointHandler, didWrite bytes: Int, opcode: WebSocketOpcode, succeeded: Bool) {}
    package func webSocketIsClosing(_ endpoint: WebSocketEndpointHandler) {}
    package func webSocket(_ endpoint: WebSocketEndpointHandler, didFail payload: ClosePayload) {}
}
