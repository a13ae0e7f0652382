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
    /// 2 MiB by default, chosen with tools/bench/loadgen.js on 2 cores (one event loop, high-water mark
    /// 2 MiB, 2 runs each, aggregate MB/s of 10 viewers of 640x360 frames / p99 ms / lag p50 ms of a
    /// viewer that reads 10 of 30 frames a second): unlimited 5,013-5,591 / 33-98 / 840; 2 MiB
    /// 4,644-6,190 / 23-81 / 525-635; 1 MiB (hwm 1 MiB) 4,712-5,677 / 36-92 / 481-511; 512 KiB (hwm
    /// 1 MiB) 3,628-3,700 / 27-29 / 418; 128 KiB (hwm 512 KiB) 3,247-3,408 / 106-121 / 302-306. Below
    /// the size of a frame (921,632 bytes) every frame takes several writes, each waiting for the
    /// socket to drain first, and throughput falls by a third; above it the lag a viewer without acks
    /// sees grows with it. 1080p (8 MB frames, one viewer) moved within noise: 1,784-2,179 MB/s at
    /// 2 MiB, 2,233-2,271 unlimited.
    public var notSentLowWaterMark: Int?
    /// `SO_SNDBUF` in bytes (Linux doubles it for its bookkeeping and caps it at `net.core.wmem_max`).
    /// `nil`, the default, leaves send-buffer autotuning on: with `TCP_NOTSENT_LOWAT` in place a cap
    /// did not pay (512 KiB low-water mark, same runs as above: 1 MiB send buffer 3,381-3,748 MB/s
    /// and 419 ms of lag, none 3,628-3,700 and 418), since on loopback and LAN links what is sent
    /// leaves the buffer within a round trip and the unsent rest is already bounded.
    public var sendBufferSize: Int?

    /// - Parameters: see the properties.
    public init(notSentLowWaterMark: Int? = 2 << 20, sendBufferSize: Int? = nil) {
        self.notSentLowWaterMark = notSentLowWaterMark
        self.sendBufferSize = sendBufferSize
    }
}
