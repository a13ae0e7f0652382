import CanvasWireCore

/// What a WebSocket connection does, decided from its URL before the upgrade.
enum SessionRole: Sendable {
    /// Sends frames to a stream; `bareSize` is set for raw RGBA messages without a header, `run` when
    /// the publisher asks to continue an interrupted run.
    case publisher(StreamName, bareSize: FrameSize?, run: String?)
    case viewer(StreamName, DeliveryPolicy, ViewerEncoding)
    case echo
}
