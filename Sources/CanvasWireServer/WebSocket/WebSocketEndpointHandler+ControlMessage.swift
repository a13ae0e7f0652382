import CanvasWireCore
import CanvasWireWebSocket
import NIOCore
import NIOWebSocket

extension WebSocketEndpointHandler {
    /// Sends a control message as a text message.
    func send(_ message: ControlMessage) {
        send(.text, allocator.buffer(string: message.json()))
    }

    /// Closes for a message that breaks the protocol, with the error's close code and description.
    func refuse(_ error: FrameError) {
        close(code: error.closeCode, reason: error.description)
    }
}
