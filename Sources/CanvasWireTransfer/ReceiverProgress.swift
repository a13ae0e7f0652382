/// The figures of a receiver's progress line, reported after every frame written.
public struct ReceiverProgress: Sendable, CustomStringConvertible {
    public var frames: Int
    public var framesPerSecond: Double
    public var megabytesPerSecond: Double
    /// The server's count of frames it did not deliver.
    public var dropped: UInt64

    /// `120 frames  29.9 fps  248.1 MB/s  dropped 0`.
    public var description: String {
        "\(frames) frames  \(rounded(framesPerSecond)) fps  \(rounded(megabytesPerSecond)) MB/s  dropped \(dropped)"
    }
}
