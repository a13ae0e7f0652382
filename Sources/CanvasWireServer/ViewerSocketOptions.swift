/// Kernel socket options for viewer connections, which bound how much of a viewer's stream the kernel
/// holds where the delivery policies cannot see it.
///
/// `bufferedAmount` counts only the bytes the kernel has not taken yet. With default options Linux
/// takes megabytes per viewer into the socket's send buffer (autotuned up to `tcp_wmem`'s maximum, 4 MB
/// here) before a write waits, so a viewer that falls behind looks as if it kept up while those
/// megabytes age: issue 17 measured 858 ms of lag for a viewer reading 10 frames a second of a 30 fps
/// 640x360 stream. `TCP_NOTSENT_LOWAT` makes the kernel take no more once that many bytes wait unsent,
/// so the rest waits in `bufferedAmount`, where the high-water mark and `latest` see it. What the
/// viewer's own receive buffer holds stays out of the server's reach (docs/PROTOCOL.md); acknowledged
/// viewers (`?ack=N`) bound that too.
public struct ViewerSocketOptions: Sendable, Equatable {
    /// `TCP_NOTSENT_LOWAT` in bytes: the most a viewer's socket holds that it has not sent yet. `nil`
    /// leaves the kernel's default (`net.ipv4.tcp_notsent_lowat`, unlimited unless changed).
    ///
    /// 2 MiB by default, with the 2 MiB high-water mark: measured with tools/bench/serve-ab (release
    /// build, 2 cores, variants interleaved, 2 runs each; docs/BENCHMARKS.md, issue 17), against the
    /// kernel's unlimited default a viewer that reads 10 of 30 640x360 frames a second without acks
    /// lags 482-631 ms instead of 736-837 (p50), 10 unpaced viewers get 5,826-6,322 MB/s instead of
    /// 5,022-5,663, and one 1080p viewer 2,311-2,327 against 2,265-2,392 (no change). 256 KiB, below
    /// a 640x360 frame (921,632 bytes), makes every frame take several writes, each waiting for the
    /// socket to drain first: 10 viewers 3,676-4,160 MB/s, one 1080p viewer 2,049-2,066, and no
    /// lower lag (520-621 ms). 1 MiB with a 1 MiB high-water mark lagged less (326-432 ms) and
    /// peaked lower (32-33 MB against 38-47 with 10 viewers) at a 1080p cost of 3-6% (2,195-2,273
    /// MB/s); two noisy runs were not enough to move the high-water mark for every viewer with it.
    public var notSentLowWaterMark: Int?
    /// `SO_SNDBUF` in bytes (Linux doubles it for its bookkeeping and caps it at `net.core.wmem_max`).
    /// `nil`, the default, leaves send-buffer autotuning on: with `TCP_NOTSENT_LOWAT` in place a 1 MiB
    /// cap did not pay (same runs: 10 viewers 5,755-5,779 MB/s with p99 60-98 ms, the slow viewer
    /// lagging 509-528 ms), since on loopback and LAN links what is sent leaves the buffer within a
    /// round trip and the unsent rest is bounded already.
    public var sendBufferSize: Int?

    /// - Parameters: see the properties.
    public init(notSentLowWaterMark: Int? = 2 << 20, sendBufferSize: Int? = nil) {
        self.notSentLowWaterMark = notSentLowWaterMark
        self.sendBufferSize = sendBufferSize
    }
}
