public import CanvasWireCore

extension StreamSubscriber {
    /// Connects as a viewer that acknowledges the frames it has drawn (`?ack=N`), the way a
    /// remote-desktop client asks for its next update: the server keeps at most `window` frames
    /// unacknowledged in flight to it, whatever the socket buffers between them hold, so a slow viewer
    /// gets fresh frames instead of ones that aged in those buffers (docs/PROTOCOL.md, "Acknowledged
    /// viewers"). Call ``acknowledge(_:)`` once each frame has been used.
    ///
    /// - Parameters:
    ///   - url: The viewer endpoint, `ws[s]://HOST:PORT/streams/NAME`.
    ///   - policy: `latest` gets the newest frame whenever it acknowledges; `all` gets every frame and
    ///     holds its publisher back while `window` frames are unacknowledged.
    ///   - encoding: `raw` or `delta`, as for ``connect(to:policy:encoding:configuration:)``.
    ///   - ackWindow: The most frames unacknowledged at once, 1 to 1024. 1 gives the freshest frames;
    ///     more keeps a pipeline of consumers busy (``Receiver`` asks for one per writer).
    ///   - configuration: Token, TLS and limits of the connection.
    public static func connect(
        to url: WebSocketURL, policy: DeliveryPolicy, encoding: ViewerEncoding = .raw, ackWindow: Int,
        configuration: WebSocketClientConfiguration = .init()
    ) async throws(WebSocketClientError) -> StreamSubscriber {
        try await connect(
            to: url.settingQueryItem("ack", to: String(ackWindow)), policy: policy, encoding: encoding, configuration: configuration
        )
    }

    /// The acknowledgement window the server applies, from its hello; `nil` when the viewer did not
    /// ask for one or the server predates acknowledgements (it then sends frames without waiting).
    public var ackWindow: Int? { hello.ack }

    /// Tells the server that `frame` has been drawn or written, and with it every frame before it, so
    /// it may send the next. Does nothing when ``ackWindow`` is `nil`: a server that did not agree
    /// to acknowledgements would close the connection for one (1008).
    ///
    /// - Throws: ``WebSocketClientError`` when the connection has closed.
    public func acknowledge(_ frame: ReceivedFrame) async throws(WebSocketClientError) {
        try await acknowledge(sequence: frame.header.sequence)
    }

    /// Acknowledges the frame with header sequence number `sequence`, as ``acknowledge(_:)`` does, for
    /// a caller that kept only the number.
    public func acknowledge(sequence: UInt64) async throws(WebSocketClientError) {
        guard ackWindow != nil else { return }
        try await connection.send(text: ControlMessage.ack(.init(sequence: sequence)).json())
    }
}
