import NIOCore

/// Reads what a nats-server sends, apart from any channel, so tests drive it directly with the same
/// bytes cut anywhere.
///
/// Pull-style: ``next(from:)`` returns one operation at a time, so the connection can apply the
/// `max_payload` of an `INFO` before the parser reads the message that follows it in the same read.
///
/// A payload that is whole in the read that delivers it is handed on as a slice of that read buffer
/// (no copy); one that spans reads is gathered once into a buffer of exactly its size. Memory is
/// bounded: a control line longer than ``maxControlLineBytes`` or a message announcing more than
/// ``maxPayloadBytes`` is a protocol error before anything is allocated for it.
struct NATSProtocolParser {
    /// Longest control line accepted, `\r\n` excluded. An `INFO` is the longest line a server
    /// sends (a large cluster lists all its `connect_urls` in it), hence a default well above the
    /// server's own 4096-byte limit on the lines clients send.
    var maxControlLineBytes: Int
    /// Largest `MSG`/`HMSG` payload (headers included) accepted: the server's `max_payload` once its
    /// `INFO` has been read, since a server never delivers more than it accepts.
    var maxPayloadBytes: Int

    private struct MessageHead {
        var subject: String
        var sid: Int
        var replyTo: String?
        var headerBytes: Int?
        var totalBytes: Int
    }

    private enum State {
        case controlLine
        /// A message whose payload is arriving; `gathered` holds it once it has spanned a read.
        case payload(MessageHead, gathered: ByteBuffer?)
        /// A complete message waiting for the `\r\n` after its payload.
        case trailer(NATSMessage, missing: Int)
    }

    private var state = State.controlLine
    /// The start of a control line cut off by the end of a read.
    private var partialLine: [UInt8] = []

    init(maxControlLineBytes: Int = 64 << 10, maxPayloadBytes: Int) {
        self.maxControlLineBytes = maxControlLineBytes
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Consumes bytes of `buffer` until one operation is complete and returns it, or returns `nil`
    /// with all of `buffer` consumed when more bytes are needed.
    ///
    /// - Throws: At the first byte that breaks the protocol; the parser must not be fed again.
    mutating func next(from buffer: inout ByteBuffer) throws(NATSError) -> NATSServerOperation? {
        while buffer.readableBytes > 0 {
            switch state {
            case .controlLine:
                guard let line = try readLine(from: &buffer) else { return nil }
                if let operation = try parseControlLine(line) { return operation }
            case .payload(let head, var gathered):
                state = .controlLine  // leaves `gathered` the only reference, so appending does not copy
                if gathered == nil {
                    guard buffer.readableBytes < head.totalBytes else {
                        try complete(head, payload: buffer.readSlice(length: head.totalBytes)!)
                        continue
                    }
                    gathered = ByteBufferAllocator().buffer(capacity: head.totalBytes)
                }
                let received = gathered!.readableBytes
                var piece = buffer.readSlice(length: min(head.totalBytes - received, buffer.readableBytes))!
                gathered!.writeBuffer(&piece)
                if gathered!.readableBytes == head.totalBytes {
                    try complete(head, payload: gathered!)
                } else {
                    state = .payload(head, gathered: gathered)
                }
            case .trailer(let message, let missing):
                let expected = missing == 2 ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
                guard buffer.readInteger(as: UInt8.self) == expected else {
                    throw .protocolViolation("payload of a message on \(message.subject) is not followed by \\r\\n")
                }
                guard missing == 1 else {
                    state = .trailer(message, missing: 1)
                    continue
                }
                state = .controlLine
                return .message(message)
            }
        }
        return nil
    }

    /// A control line without its `\r\n`, or `nil` when its end has not arrived yet.
    private mutating func readLine(from buffer: inout ByteBuffer) throws(NATSError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            guard partialLine.count + view.count <= maxControlLineBytes + 1 else { throw overlong() }
            partialLine += view
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        var line = partialLine + view[..<newline]
        partialLine.removeAll(keepingCapacity: true)
        buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= maxControlLineBytes else { throw overlong() }
        return line
    }

    private func overlong() -> NATSError {
        .protocolViolation("control line longer than \(maxControlLineBytes) bytes")
    }

    /// The operation a line is, or `nil` for a message whose payload follows.
    private mutating func parseControlLine(_ line: [UInt8]) throws(NATSError) -> NATSServerOperation? {
        let tokens = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        guard let first = tokens.first else { throw .protocolViolation("empty control line") }
        let name = String(decoding: first.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
        let arguments = tokens.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        switch name {
        case "MSG", "HMSG":
            try startMessage(arguments, withHeaders: name == "HMSG")
            return nil
        case "PING": return .ping
        case "PONG": return .pong
        case "+OK": return .ok
        case "INFO": return .info(Self.text(after: first, in: line))
        case "-ERR":
            var text = Self.text(after: first, in: line)[...]
            if text.hasPrefix("'"), text.hasSuffix("'"), text.count >= 2 { text = text.dropFirst().dropLast() }
            return .error(String(text))
        default:
            throw .protocolViolation("unknown operation \"\(name.prefix(16))\"")
        }
    }

    /// `MSG <subject> <sid> [reply-to] <#bytes>` or `HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>`.
    private mutating func startMessage(_ arguments: [String], withHeaders: Bool) throws(NATSError) {
        let sizeCount = withHeaders ? 2 : 1
        guard arguments.count == 2 + sizeCount || arguments.count == 3 + sizeCount else {
            throw .protocolViolation("\(withHeaders ? "HMSG" : "MSG") with \(arguments.count) arguments")
        }
        let sizes = arguments.suffix(sizeCount).map(Self.count)
        guard let sid = Self.count(arguments[1]), let totalBytes = sizes.last!, let headerBytes = sizes.first! else {
            throw .protocolViolation("message sid or size is not a number")
        }
        guard totalBytes <= maxPayloadBytes else {
            throw .protocolViolation("message of \(totalBytes) bytes exceeds max_payload \(maxPayloadBytes)")
        }
        guard headerBytes <= totalBytes else {
            throw .protocolViolation("header of \(headerBytes) bytes in a message of \(totalBytes)")
        }
        state = .payload(
            MessageHead(
                subject: arguments[0], sid: sid, replyTo: arguments.count > 2 + sizeCount ? arguments[2] : nil,
                headerBytes: withHeaders ? headerBytes : nil, totalBytes: totalBytes
            ),
            gathered: nil
        )
    }

    private mutating func complete(_ head: MessageHead, payload: ByteBuffer) throws(NATSError) {
        var payload = payload
        var headers: NATSHeaders?
        if let headerBytes = head.headerBytes {
            headers = try NATSHeaders(parsing: payload.readSlice(length: headerBytes)!)
        }
        let message = NATSMessage(subject: head.subject, sid: head.sid, replyTo: head.replyTo, headers: headers, payload: payload)
        state = .trailer(message, missing: 2)
    }

    /// A size or sid: decimal digits only, few enough that they cannot overflow.
    private static func count(_ token: String) -> Int? {
        guard !token.isEmpty, token.utf8.count <= 15, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(token)
    }

    /// The rest of the line after the operation name, without the blanks around it.
    private static func text(after name: ArraySlice<UInt8>, in line: [UInt8]) -> String {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let rest = line[name.endIndex...].drop(while: isBlank)
        let end = rest.lastIndex { !isBlank($0) }.map { $0 + 1 } ?? rest.startIndex
        return String(decoding: rest[..<end], as: UTF8.self)
    }
}
