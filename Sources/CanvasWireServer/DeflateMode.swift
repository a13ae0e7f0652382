/// When the server compresses what it sends with permessage-deflate (RFC 7692), to clients that
/// offered it in their handshake. What clients send compressed is always accepted and inflated.
public enum DeflateMode: String, Sendable, CaseIterable {
    /// Compress a message only where it pays: delta frames and small frames whose recent messages
    /// shrank; not noisy or large full frames, which zlib compresses far slower than a link carries
    /// them (the rule and its measurements: docs/BENCHMARKS.md, permessage-deflate).
    case auto
    /// Compress every frame message.
    case on
    /// Never agree to permessage-deflate.
    case off
}
