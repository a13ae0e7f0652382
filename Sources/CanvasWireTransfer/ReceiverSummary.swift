public import CanvasWireClient
import CanvasWireCore

/// What a ``Receiver`` did; `--json` prints it as it is.
public struct ReceiverSummary: Sendable, Encodable, CustomStringConvertible {
    /// Frames written (or sent to stdout).
    public var frames: Int
    /// Bytes written (file contents).
    public var bytes: Int
    /// Time from connecting to the end.
    public var seconds: Double
    /// ``frames`` over ``seconds``.
    public var framesPerSecond: Double
    /// The server's count of frames it did not deliver (a `latest` viewer that fell behind).
    public var dropped: UInt64
    /// Whether the end message of the run being saved arrived.
    public var ended: Bool
    /// How the connection closed (encoded as `closeCode` and `closeReason`).
    public var closed: CloseInfo
    /// Frames whose file was already there (``FrameWriter/ExistingFiles/keep``), left as they were.
    public var skippedExisting: Int
    /// What stopped the receiver from outside (``Receiver/stop(reason:)``), if anything did.
    public var stoppedBy: String?
    /// The run whose frames were saved; `nil` before the first one (or from a server without runs).
    public var run: String?
    /// Whether the receiver stopped because a different run of the stream started: the run it was
    /// saving is over, and the new one is not mixed in. A clean end, like ``ended``.
    public var newRun: Bool
    /// Frames left from an earlier run (the stream's retained latest frame) that were not written.
    public var skippedLeftovers: Int
    /// Bytes of every frame message as it arrived, headers included: deltas before they were applied,
    /// compressed messages compressed. What the stream cost the network.
    public var wireBytes: Int
    /// Frames that arrived as deltas (``ReceiverConfiguration/encoding`` `.delta`) and were rebuilt.
    public var deltaFrames: Int
    /// Set when the connection ended in a way that lost the rest of the stream: no end message, no
    /// count or duration reached, no stop, and a close code other than 1000 or 1001.
    public var failure: TransferError?

    private enum CodingKeys: String, CodingKey {
        case frames, bytes, seconds, framesPerSecond, dropped, ended, closeCode, closeReason, skippedExisting, stoppedBy
        case run, newRun, skippedLeftovers, wireBytes, deltaFrames
    }

    /// The figures as `canvaswire receive --json` has always printed them, and the run.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(frames, forKey: .frames)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(framesPerSecond, forKey: .framesPerSecond)
        try container.encode(dropped, forKey: .dropped)
        try container.encode(ended, forKey: .ended)
        try container.encode(Int(closed.code), forKey: .closeCode)
        try container.encode(closed.reason, forKey: .closeReason)
        try container.encode(skippedExisting, forKey: .skippedExisting)
        try container.encodeIfPresent(stoppedBy, forKey: .stoppedBy)
        try container.encodeIfPresent(run, forKey: .run)
        try container.encode(newRun, forKey: .newRun)
        try container.encode(skippedLeftovers, forKey: .skippedLeftovers)
        try container.encode(wireBytes, forKey: .wireBytes)
        try container.encode(deltaFrames, forKey: .deltaFrames)
    }

    /// `received 120 frames in 4.02 s: 29.9 fps, 0 dropped by the server, 119 as deltas (6.1 MB on
    /// the wire), stream ended`.
    public var description: String {
        let deltas = deltaFrames > 0 ? ", \(deltaFrames) as deltas (\(rounded(Double(wireBytes) / 1e6)) MB on the wire)" : ""
        let kept = skippedExisting > 0 ? ", \(skippedExisting) already on disk (kept)" : ""
        let leftovers = skippedLeftovers > 0 ? ", \(skippedLeftovers) left from an earlier run (not written)" : ""
        let how = stoppedBy.map { "stopped by \($0)" }
            ?? (ended ? "stream ended" : newRun ? "a new run of the stream started" : "closed: \(closed)")
        return "received \(frames) frames in \(rounded(seconds, decimals: 2)) s: \(rounded(framesPerSecond)) fps, \(dropped) dropped by the server\(deltas)\(kept)\(leftovers), \(how)"
    }
}
