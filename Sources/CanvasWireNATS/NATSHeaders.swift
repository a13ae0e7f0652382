import NIOCore

/// The header block of an `HMSG` or `HPUB`: `NATS/1.0 [status [description]]` and then
/// `Name: Value` lines.
///
/// The status line carries what the server has to say about a message that is not itself a message:
/// 503 for a request that nobody subscribes to, 404 for a JetStream direct get of a missing key.
public struct NATSHeaders: Sendable, Equatable {
    /// One `Name: Value` line. Names may repeat.
    public struct Field: Sendable, Equatable {
        /// Sent as written; looked up without regard to ASCII case.
        public var name: String
        /// Without the blanks around it.
        public var value: String

        /// - Parameters: see the properties.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The three-digit status of the `NATS/1.0` line, when it has one.
    public var status: Int?
    /// The words after the status, for example `Message Not Found`.
    public var statusDescription: String?
    /// The fields in the order they were written.
    public var fields: [Field]

    /// - Parameters:
    ///   - fields: `(name, value)` pairs, in order.
    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of `name`, compared without regard to ASCII case (the server and nats.go
    /// spell JetStream's names one way, other clients may not).
    public subscript(name: String) -> String? {
        fields.first { Self.namesMatch($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// Appends a field; an existing one of the same name is kept.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    private static func namesMatch(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.lowercased() == b.lowercased()
    }
}

extension NATSHeaders {
    private static let version = "NATS/1.0"

    /// Parses a header block as the server sends it: `NATS/1.0[ status[ description]]\r\n`, fields,
    /// and an empty line.
    init(parsing block: ByteBuffer) throws(NATSError) {
        let text = String(decoding: block.readableBytesView, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        guard let first = lines.popFirst(), first.hasPrefix(Self.version) else {
            throw .protocolViolation("header block does not start with \(Self.version)")
        }
        self.init()
        let statusLine = first.dropFirst(Self.version.count).drop { $0 == " " || $0 == "\t" }
        if !statusLine.isEmpty {
            let code = statusLine.prefix(3)
            guard code.count == 3, let status = Int(code) else {
                throw .protocolViolation("header status \"\(statusLine)\" is not a three-digit code")
            }
            self.status = status
            let description = statusLine.dropFirst(3).trimmingSpaces
            statusDescription = description.isEmpty ? nil : String(description)
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw .protocolViolation("header line \"\(line.prefix(64))\" has no colon")
            }
            let name = line[..<colon].trimmingSpaces
            guard !name.isEmpty else { throw .protocolViolation("header line has an empty name") }
            fields.append(Field(name: String(name), value: String(line[line.index(after: colon)...].trimmingSpaces)))
        }
    }

    /// Writes the block for an `HPUB`.
    ///
    /// - Throws: When a name or value holds a character that would end its line early or, in a
    ///   name, a colon or space: the server would read a different header than the one meant.
    func write(to buffer: inout ByteBuffer) throws(NATSError) {
        buffer.writeString(Self.version)
        if let status { buffer.writeString(" \(status)") }
        if let statusDescription { buffer.writeString(" \(statusDescription)") }
        buffer.writeString("\r\n")
        for field in fields {
            guard !field.name.isEmpty, !field.name.utf8.contains(where: { $0 <= 32 || $0 == UInt8(ascii: ":") || $0 == 127 }) else {
                throw .invalidArgument("header name \"\(field.name)\" is empty or holds a space, colon or control character")
            }
            guard !field.value.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) else {
                throw .invalidArgument("value of header \(field.name) holds a line break")
            }
            buffer.writeString(field.name)
            buffer.writeString(": ")
            buffer.writeString(field.value)
            buffer.writeString("\r\n")
        }
        buffer.writeString("\r\n")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return trimmed
    }
}
