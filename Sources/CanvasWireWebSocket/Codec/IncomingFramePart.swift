package import NIOCore
package import NIOWebSocket

/// What ``IncrementalFrameDecoder`` hands on: control frames whole, data frames as a header followed
/// by their payload in the pieces the socket delivered.
package enum IncomingFramePart {
    /// A ping, pong or close frame (or a reserved control opcode), complete: at most 125 bytes.
    case control(WebSocketFrame)
    /// The start of a text, binary or continuation frame (or a reserved data opcode). Its payload
    /// follows in ``payload(_:maskOffset:endsFrame:)`` parts, at least one, empty for an empty frame.
    case dataFrame(IncomingFrameHeader)
    /// Payload bytes of the current data frame, still masked: a slice of the read buffer, not a copy.
    /// `maskOffset` is where the slice starts within the frame's payload, since masking is positional.
    case payload(ByteBuffer, maskOffset: Int, endsFrame: Bool)
}

/// The fields of a WebSocket frame header (RFC 6455 5.2).
package struct IncomingFrameHeader: Equatable, Sendable {
    package var fin: Bool
    package var rsv1: Bool
    package var rsv2: Bool
    package var rsv3: Bool
    package var opcode: WebSocketOpcode
    package var maskKey: WebSocketMaskingKey?
    package var length: Int

    package init(
        fin: Bool, rsv1: Bool, rsv2: Bool, rsv3: Bool, opcode: WebSocketOpcode, maskKey: WebSocketMaskingKey?, length: Int
    ) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.maskKey = maskKey
        self.length = length
    }

    /// RFC 6455 5.5: control opcodes have the high bit of the opcode set.
    package var isControl: Bool { UInt8(webSocketOpcode: opcode) & 0x8 != 0 }
}

/// Why the decoder stopped reading frames: the connection is failed with `closeCode`.
package struct IncomingFrameError: Error, Equatable {
    package var closeCode: WebSocketErrorCode
    package var reason: String

    package init(closeCode: WebSocketErrorCode, reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }
}

extension WebSocketFrame {
    package init(_ header: IncomingFrameHeader, data: ByteBuffer) {
        self.init(
            fin: header.fin, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3,
            opcode: header.opcode, maskKey: header.maskKey, data: data
        )
    }
}

extension WebSocketMaskingKey {
    /// The key as it applies from `offset` bytes into a payload: masking uses key byte `i % 4` for
    /// payload byte `i`, so a piece that starts mid-payload starts mid-key.
    package func startingAt(offset: Int) -> WebSocketMaskingKey {
        let shift = offset & 3
        return WebSocketMaskingKey((0..<4).map { self[(shift + $0) & 3] })!
    }
}
