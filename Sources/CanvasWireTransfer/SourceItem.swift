public import CanvasWireCore

/// One frame's worth of sender input, before decoding.
public enum SourceItem: Sendable {
    /// A PNG file, read when its frame is prepared.
    case file(String)
    /// A PNG already in memory (one of a stream's files), named for error messages.
    case png([UInt8], name: String)
    /// Raw RGBA8 pixels of `size`, sent as they are.
    case raw([UInt8], size: FrameSize, name: String)

    /// The path or name that identifies the item in messages.
    public var name: String {
        switch self {
        case .file(let path): path
        case .png(_, let name), .raw(_, _, let name): name
        }
    }
}
