import CanvasWireCore

/// What a WebSocket connection does, decided from its URL before the upgrade.
enum SessionRole: Sendable {
    /// Sends frames to a stream; `bareSize` is set for raw RGBA messages without a header.
    case publisher(RelayStream, bareSize: FrameSize?)
    case viewer(RelayStream, DeliveryPolicy)
    case echo
}
