#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The client's side of the protocol: each command as the bytes to write.
enum NATSCommand {
    static let ping = ByteBuffer(string: "PING\r\n")
    static let pong = ByteBuffer(string: "PONG\r\n")
    static let crlf = ByteBuffer(string: "\r\n")

    /// What `CONNECT` tells the server about this client.
    private struct ConnectOptions: Encodable {
        var verbose = false
        var pedantic = false
        var tlsRequired = false
        var name: String
        var lang = "swift"
        var version = "0.1.0"
        /// 1: the server may send `INFO` again when the cluster changes.
        var `protocol` = 1
        var headers = true
        /// Requests to a subject without subscribers get a 503 status at once instead of a timeout.
        var noResponders = true
        var echo = true
    }

    static func connect(name: String) -> ByteBuffer {
        // Encoding a struct of strings, numbers and booleans cannot fail.
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = try! encoder.encode(ConnectOptions(name: name))
        var buffer = ByteBuffer(string: "CONNECT ")
        buffer.writeBytes(json)
        buffer.writeString("\r\n")
        return buffer
    }

    /// `PUB` or `HPUB` up to the payload: the control line and the header block, and the size of
    /// the header block. The payload and its `\r\n` are written after it as buffers of their own,
    /// so the payload is never copied.
    static func publishHead(
        subject: String, replyTo: String?, headers: NATSHeaders?, payloadBytes: Int
    ) throws(NATSError) -> (head: ByteBuffer, headerBytes: Int) {
        try validate(subject, "subject")
        if let replyTo { try validate(replyTo, "reply subject") }
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + subject.utf8.count + (replyTo?.utf8.count ?? 0))
        let reply = replyTo.map { " \($0)" } ?? ""
        guard let headers else {
            buffer.writeString("PUB \(subject)\(reply) \(payloadBytes)\r\n")
            return (buffer, 0)
        }
        var block = ByteBuffer()
        try headers.write(to: &block)
        buffer.writeString("HPUB \(subject)\(reply) \(block.readableBytes) \(block.readableBytes + payloadBytes)\r\n")
        let headerBytes = block.readableBytes
        buffer.writeBuffer(&block)
        return (buffer, headerBytes)
    }

    static func subscribe(subject: String, queueGroup: String?, sid: Int) throws(NATSError) -> ByteBuffer {
        try validate(subject, "subject")
        if let queueGroup { try validate(queueGroup, "queue group") }
        return ByteBuffer(string: "SUB \(subject)\(queueGroup.map { " \($0)" } ?? "") \(sid)\r\n")
    }

    /// `UNSUB <sid> [max]`: with `max`, the server delivers that many more messages first.
    static func unsubscribe(sid: Int, after max: Int? = nil) -> ByteBuffer {
        ByteBuffer(string: "UNSUB \(sid)\(max.map { " \($0)" } ?? "")\r\n")
    }

    /// A subject, reply subject or queue group is one token of a control line: not empty, no blank
    /// or control character (the server would split the line differently).
    static func validate(_ token: String, _ what: String) throws(NATSError) {
        guard !token.isEmpty, !token.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw .invalidArgument("\(what) \"\(token)\" is empty or holds a space or control character")
        }
    }
}
