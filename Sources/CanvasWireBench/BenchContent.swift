import CanvasWireCore

/// What the bench's publisher sends.
public enum BenchContent: String, Sendable, CaseIterable {
    /// Payloads derived from the sequence number (``BenchPayload``): every byte changes every frame,
    /// written and checked in one pass each, so the relay, not the bench, is what is measured.
    case generated
    /// ``SyntheticContent`` of that kind: what a delta encoding is for (`screen`) or cannot help
    /// (`video`, `noise`).
    case screen, video, noise

    /// The frames of this content at `size`.
    func frames(size: FrameSize) -> BenchFrames {
        switch self {
        case .generated: .generated(BenchPayload())
        case .screen: .synthetic(RenderedFrames(content: SyntheticContent(kind: .screen, size: size)))
        case .video: .synthetic(RenderedFrames(content: SyntheticContent(kind: .video, size: size)))
        case .noise: .synthetic(RenderedFrames(content: SyntheticContent(kind: .noise, size: size)))
        }
    }
}
