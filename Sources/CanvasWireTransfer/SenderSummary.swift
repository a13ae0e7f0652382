import CanvasWireCore

/// What a ``Sender`` did; `--json` prints it as it is.
public struct SenderSummary: Sendable, Encodable, CustomStringConvertible {
    /// Frames handed to a connection (each counted once, however often it was resent).
    public var frames: Int
    /// Bytes of those frames as they were handed over, headers included: a frame sent as a delta
    /// counts the delta.
    public var bytes: Int
    /// Time from connecting to the end.
    public var seconds: Double
    /// ``frames`` over ``seconds``.
    public var framesPerSecond: Double
    /// ``bytes`` in 10^6 bytes over ``seconds``.
    public var megabytesPerSecond: Double
    /// Connections replaced after a failure.
    public var reconnects: Int
    /// Frames sent as deltas (``SenderConfiguration/deltas``).
    public var deltaFrames: Int
    /// Why each skipped input was skipped, one line each.
    public var skipped: [String]
    /// Whether the sender was stopped by cancellation: the connection closed with 1001 and the
    /// stream was not ended.
    public var stopped: Bool

    private enum CodingKeys: String, CodingKey {
        case frames, bytes, seconds, framesPerSecond, megabytesPerSecond, reconnects, deltaFrames, skipped
    }

    /// `sent 120 frames (1.2 MB, 119 as deltas) in 4.01 s: 29.9 fps, 0.3 MB/s, 0 reconnects, 0 skipped`.
    public var description: String {
        "sent \(frames) frames (\(rounded(Double(bytes) / 1e6)) MB\(deltaFrames > 0 ? ", \(deltaFrames) as deltas" : "")) in \(rounded(seconds, decimals: 2)) s: \(rounded(framesPerSecond)) fps, \(rounded(megabytesPerSecond)) MB/s, \(reconnects) reconnects, \(skipped.count) skipped"
    }
}
