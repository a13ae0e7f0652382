package import NIOCore

/// Decodes WebSocket frames without gathering them: a data frame's payload is passed on slice by slice
/// as each socket read delivers it. Both sides use it: the server for its publishers' masked frames,
/// the client for what servers send.
///
/// NIO's `WebSocketFrameDecoder` (a `ByteToMessageDecoder`) emits a frame only once all of it is in
/// one buffer, so every read after the first is copied onto the end of that buffer: for a 1080p
/// frame, 8 MB memmoved and then copied again when the receiver unmasks it into the message. Here the
/// receiver copies (and unmasks) straight from the read buffers into the message, one copy instead of
/// two, and the read buffer is free for NIO to reuse at the next read; a message that arrives in one
/// read is not copied at all on the client. The handshakes stay NIO's.
///
/// It applies the checks NIO's decoder applies (RFC 6455 5.2 and 5.5): control frames are not
/// fragmented and carry at most 125 bytes, lengths use at most 63 bits, and no frame is larger than
/// `maxFrameSize`. Masking, reserved bits and opcodes are ``WebSocketEndpoint``'s to judge.
package final class IncrementalFrameDecoder: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = IncomingFramePart

    private var parser: IncomingFrameParser
    /// After a protocol error the byte stream cannot be framed again; the rest is ignored.
    private var failed = false

    package init(maxFrameSize: Int) {
        parser = IncomingFrameParser(maxFrameSize: maxFrameSize)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        do {
            try parser.parse(&buffer) { context.fireChannelRead(wrapInboundOut($0)) }
        } catch {
            failed = true
            context.fireErrorCaught(error)
        }
    }
}
