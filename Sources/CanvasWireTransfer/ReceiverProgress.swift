import CanvasWireCore

/// The figures of a receiver's progress line, reported after every frame written.
public struct ReceiverProgress: Sendable, CustomStringConvertible {
    /// Frames written so far.
    public var frames: Int
    /// Frames per second since the receiver started.
    public var framesPerSecond: Double
    /// 10^6 bytes written per second since the receiver started.
    public var megabytesPerSecond: Double
    /// The server's count of frames it did not deliver.
    public var dropped: UInt64

    /// `120 frames  29.9 fps  248.1 MB/s  dropped 0`.
    public var description: String {
        "\(frames) frames  \(rounded(framesPerSecond)) fps  \(rounded(megabytesPerSecond)) MB/s  dropped \(dropped)"
    }
}
