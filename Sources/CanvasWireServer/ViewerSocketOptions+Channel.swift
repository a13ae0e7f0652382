#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import NIOCore

extension ViewerSocketOptions {
    /// Sets the options on a viewer's socket and reads back what the kernel applied; on the channel's
    /// event loop. A channel without socket options (a test's embedded channel) reads back `nil`.
    func apply(to channel: any Channel) throws -> SocketReadback? {
        guard let options = channel.syncOptions else { return nil }
        if let notSentLowWaterMark {
            try options.setOption(Self.notSentLowWaterMarkOption, value: SocketOptionValue(clamping: notSentLowWaterMark))
        }
        if let sendBufferSize {
            try options.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(clamping: sendBufferSize))
        }
        // A socket without a value of its own reads back 0 and follows net.ipv4.tcp_notsent_lowat;
        // "no limit" (UINT32_MAX) reads back as -1.
        let lowWaterMark = try options.getOption(Self.notSentLowWaterMarkOption)
        return SocketReadback(
            notSentLowWaterMark: lowWaterMark > 0 ? Int(lowWaterMark) : nil,
            sendBufferSize: Int(try options.getOption(.socketOption(.so_sndbuf)))
        )
    }

    private static var notSentLowWaterMarkOption: ChannelOptions.Types.SocketOption {
        .tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_NOTSENT_LOWAT)))
    }
}
