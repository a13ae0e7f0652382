public import CanvasWireClient
import CanvasWireCore

/// What a running ``Sender`` reports while it sends, for a progress line or a log.
public enum SenderEvent: Sendable {
    /// A frame was handed to the connection.
    case progress(SenderProgress)
    /// An input that is not a valid PNG was skipped (``SenderConfiguration/InvalidInput/skip``); the
    /// error names it.
    case skipped(TransferError)
    /// A transient failure: the connection was lost or could not be made, and another attempt follows
    /// after a backoff, as long as ``SenderConfiguration/retryFor`` allows.
    case reconnecting(ReconnectingPublisher.Retry)
}

/// The figures of a sender's progress line.
public struct SenderProgress: Sendable, CustomStringConvertible {
    /// Frames handed to the connection so far.
    public var frames: Int
    /// The number of frames in all, when the source knows it.
    public var total: Int?
    /// Frames per second since the sender started.
    public var framesPerSecond: Double
    /// 10^6 bytes (headers included) per second since the sender started.
    public var megabytesPerSecond: Double
    /// Bytes the connection has not yet written to its socket.
    public var bufferedAmount: Int

    /// `12/120 frames  30.0 fps  248.8 MB/s  bufferedAmount 0  ETA 4 s`.
    public var description: String {
        let eta = total.map { total in
            framesPerSecond > 0 ? "  ETA \(rounded(Double(total - frames) / framesPerSecond, decimals: 0)) s" : ""
        } ?? ""
        return "\(frames)\(total.map { "/\($0)" } ?? "") frames  \(rounded(framesPerSecond)) fps  \(rounded(megabytesPerSecond)) MB/s  bufferedAmount \(bufferedAmount)\(eta)"
    }
}
