/// A viewer socket's options as `getsockopt` read them back once they were set, shown per viewer in
/// `GET /streams` so that what the kernel applied can be checked, not assumed.
struct SocketReadback: Encodable, Sendable, Equatable {
    /// `TCP_NOTSENT_LOWAT` in bytes; `nil` when the socket has none of its own and follows the
    /// system's `net.ipv4.tcp_notsent_lowat` (unlimited unless changed), or is unlimited.
    var notSentLowWaterMark: Int?
    /// `SO_SNDBUF` as the kernel reports it: on Linux twice what was set, or the autotuned size.
    var sendBufferSize: Int

    private enum CodingKeys: String, CodingKey {
        case notSentLowWaterMark, sendBufferSize
    }

    /// An unlimited low-water mark is written as `null` rather than left out.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(notSentLowWaterMark, forKey: .notSentLowWaterMark)
        try container.encode(sendBufferSize, forKey: .sendBufferSize)
    }
}
