public import CanvasWireCore

extension WebSocketURL {
    /// The stream a CanvasWire URL names: `NAME` in `/streams/NAME` (a viewer) or
    /// `/streams/NAME/publish` (a publisher); `nil` for other paths, such as `/echo`.
    ///
    /// The name is checked by the server's rule, so a name it would refuse with HTTP 400 fails here,
    /// before anything connects, and with the rule it breaks.
    ///
    /// - Throws: ``WebSocketClientError`` (not transient) naming the invalid stream name.
    public func streamName() throws(WebSocketClientError) -> StreamName? {
        let segments = path.split(separator: "/")
        guard segments.first == "streams", segments.count == 2 || (segments.count == 3 && segments[2] == "publish") else {
            return nil
        }
        guard let name = StreamName(segments[1]) else {
            throw .invalidURL(
                description,
                reason: "\"\(segments[1])\" is not a stream name: use 1 to 64 characters from A-Z a-z 0-9 . _ - (not . or ..)"
            )
        }
        return name
    }
}
