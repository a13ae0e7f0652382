/// How a viewer wants RGBA8 frames sent (`?encoding=`, reported in its hello).
public enum ViewerEncoding: String, Codable, Sendable, CaseIterable {
    /// Every frame whole, as the publisher sent it.
    case raw
    /// A whole frame first (and after every size change), then only the rectangles that changed,
    /// whenever that is smaller (pixel format 3, docs/PROTOCOL.md "Delta frames").
    case delta
}
