/// When the server compresses what it sends with permessage-deflate (RFC 7692), to clients that
/// offered it in their handshake. What clients send compressed is always accepted and inflated.
public enum DeflateMode: String, Sendable, CaseIterable {
    /// Compress a message only where it pays: small messages (deltas, small frames) that shrink, and
    /// large frames of content that compresses to a quarter or less (screen content), which zlib
    /// compresses fast; not camera or noisy content, which it compresses far slower than a link carries
    /// it (``CompressionAdvisor``; measurements in docs/BENCHMARKS.md, permessage-deflate).
    case auto
    /// Compress every frame message, and agree with publishers too (a browser then compresses every
    /// frame it sends: worth it on slow links only).
    case on
    /// Never agree to permessage-deflate.
    case off
}
