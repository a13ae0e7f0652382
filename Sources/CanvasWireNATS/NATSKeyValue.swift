public import NIOCore

/// A JetStream key-value bucket, through plain requests: what the relay cluster needs to agree on
/// one publisher per stream, with compare-and-set writes and keys that expire.
///
/// Every write names the revision it expects (`Nats-Expected-Last-Subject-Sequence`), so of two
/// nodes racing for a key exactly one wins; the other gets ``NATSError/isWrongLastSequence``.
///
/// ```swift
/// let kv = try await NATSKeyValue.createBucket(.init(name: "streams", ttl: .seconds(10)), on: nats)
/// let revision = try await kv.create("cam", value: ByteBuffer(string: nodeID))   // claim
/// _ = try await kv.update("cam", value: ByteBuffer(string: nodeID), expectedRevision: revision) // heartbeat
/// ```
public struct NATSKeyValue: Sendable {
    /// The bucket's name; its stream is `KV_<bucket>`.
    public let bucket: String
    let connection: NATSConnection

    /// The header that tells a delete marker from a value.
    static let operationHeader = "KV-Operation"
    static let expectedRevisionHeader = "Nats-Expected-Last-Subject-Sequence"

    /// Uses an existing bucket without asking the server.
    ///
    /// - Throws: ``NATSError`` when the name is not letters, digits, `_` and `-`.
    public init(bucket: String, connection: NATSConnection) throws(NATSError) {
        guard !bucket.isEmpty, bucket.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            throw .invalidArgument("bucket name \"\(bucket)\" must be letters, digits, _ and - only")
        }
        self.bucket = bucket
        self.connection = connection
    }

    /// Creates the bucket, or uses it when it exists with the same settings.
    ///
    /// - Throws: ``NATSError``: a JetStream error (for example "stream name already in use with a
    ///   different configuration"), or no responders when the server runs without JetStream (`-js`).
    public static func createBucket(
        _ configuration: KeyValueBucketConfiguration, on connection: NATSConnection
    ) async throws(NATSError) -> NATSKeyValue {
        let bucket = try NATSKeyValue(bucket: configuration.name, connection: connection)
        let config = configuration.streamConfig
        _ = try await JetStreamAPI.request("STREAM.CREATE.\(config.name)", config, as: JetStreamAPI.Empty.self, on: connection)
        return bucket
    }

    var stream: String { "KV_\(bucket)" }
    var subjectPrefix: String { "$KV.\(bucket)." }

    /// Stores `value` under `key` only if the key has no value (it never had one, or it was
    /// deleted, or it expired).
    ///
    /// - Returns: The new revision.
    /// - Throws: ``NATSError``; ``NATSError/isWrongLastSequence`` when the key has a value.
    public func create(_ key: String, value: ByteBuffer) async throws(NATSError) -> UInt64 {
        do throws(NATSError) {
            return try await write(key, value, operation: nil, expectedRevision: 0)
        } catch where error.isWrongLastSequence {
            // As nats.go: the latest entry may be a delete marker, which still counts as a revision.
            guard let latest = try await latestEntry(key), latest.isDeleted else { throw error }
            return try await write(key, value, operation: nil, expectedRevision: latest.entry.revision)
        }
    }

    /// Stores `value` under `key` if its latest revision is still `expectedRevision`.
    ///
    /// - Returns: The new revision.
    /// - Throws: ``NATSError``; ``NATSError/isWrongLastSequence`` when someone else wrote the key since.
    public func update(_ key: String, value: ByteBuffer, expectedRevision: UInt64) async throws(NATSError) -> UInt64 {
        try await write(key, value, operation: nil, expectedRevision: expectedRevision)
    }

    /// Deletes `key` by writing a delete marker (`KV-Operation: DEL`), only if its latest revision
    /// is `expectedRevision` when one is given.
    ///
    /// - Returns: The revision of the marker; ``create(_:value:)`` succeeds on the key afterwards.
    @discardableResult
    public func delete(_ key: String, expectedRevision: UInt64? = nil) async throws(NATSError) -> UInt64 {
        try await write(key, ByteBuffer(), operation: "DEL", expectedRevision: expectedRevision)
    }

    /// The key's value and revision, or `nil` when it has none (never written, deleted or expired).
    public func get(_ key: String) async throws(NATSError) -> KeyValueEntry? {
        guard let latest = try await latestEntry(key), !latest.isDeleted else { return nil }
        return latest.entry
    }

    /// The keys that have a value now.
    ///
    /// One request creates a push consumer that delivers the latest revision of every key, headers
    /// only (`deliver_policy: last_per_subject`); delete markers are skipped. `STREAM.INFO` with
    /// `subjects_filter` would list deleted keys too, since their marker is a message.
    ///
    /// - Parameter timeout: For the whole listing; ``NATSConfiguration/requestTimeout`` by default.
    public func keys(timeout: Duration? = nil) async throws(NATSError) -> [String] {
        let messages = try connection.subscribe(to: NATSConnection.newInbox())
        let subscription = messages.subscription
        // Unsubscribing ends the iteration below, which then knows it did not see the last key.
        let timer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout ?? connection.configuration.requestTimeout)) {
            subscription.unsubscribe()
        }
        defer {
            timer.cancel()
            subscription.unsubscribe()
        }
        let request = JetStreamAPI.ConsumerCreateRequest(
            streamName: stream,
            config: .init(
                deliverSubject: subscription.subject, filterSubject: subjectPrefix + ">",
                inactiveThreshold: JetStreamAPI.nanoseconds(.seconds(5))
            )
        )
        let consumer = try await JetStreamAPI.request(
            "CONSUMER.CREATE.\(stream)", request, as: JetStreamAPI.ConsumerInfo.self, on: connection
        )
        var keys: [String] = []
        var complete = consumer.numPending == 0
        if !complete {
            for await message in messages {
                if !Self.isDeleteMarker(message.headers) { keys.append(String(message.subject.dropFirst(subjectPrefix.count))) }
                if Self.pending(inAckSubject: message.replyTo) == 0 {
                    complete = true
                    break
                }
            }
        }
        // Best effort: the consumer also goes away by itself once nobody listens (inactive_threshold).
        _ = try? await JetStreamAPI.request(
            "CONSUMER.DELETE.\(stream).\(consumer.name)", JetStreamAPI.Empty(), as: JetStreamAPI.Empty.self, on: connection
        )
        guard complete else { throw .timeout("listing the keys of bucket \(bucket)") }
        return keys
    }

    /// Publishes into the bucket's stream with the expected-revision check, and reads the ack.
    private func write(
        _ key: String, _ value: ByteBuffer, operation: String?, expectedRevision: UInt64?
    ) async throws(NATSError) -> UInt64 {
        try Self.validate(key)
        var headers = NATSHeaders()
        if let operation { headers.add(name: Self.operationHeader, value: operation) }
        if let expectedRevision { headers.add(name: Self.expectedRevisionHeader, value: "\(expectedRevision)") }
        let reply = try await connection.request(value, to: subjectPrefix + key, headers: headers.fields.isEmpty ? nil : headers)
        return try JetStreamAPI.decode(reply.payload, as: JetStreamAPI.PubAck.self).seq
    }

    /// The latest message of `key` through `DIRECT.GET`, delete markers included.
    private func latestEntry(_ key: String) async throws(NATSError) -> (entry: KeyValueEntry, isDeleted: Bool)? {
        try Self.validate(key)
        let reply = try await connection.request(ByteBuffer(), to: "\(JetStreamAPI.prefix)DIRECT.GET.\(stream).\(subjectPrefix)\(key)")
        guard let headers = reply.headers else {
            throw .unexpectedReply("DIRECT.GET of \(key) came without headers; was bucket \(bucket) created with allow_direct?")
        }
        switch headers.status {
        case nil:
            break
        case 404:
            return nil
        case let status?:
            // JetStream answers errors of direct gets with a status, not JSON.
            throw .jetStream(.init(code: status, errorCode: 0, description: headers.statusDescription ?? "direct get failed"))
        }
        guard let revision = headers["Nats-Sequence"].flatMap(UInt64.init) else {
            throw .unexpectedReply("DIRECT.GET of \(key) has no Nats-Sequence header")
        }
        return (KeyValueEntry(key: key, value: reply.payload, revision: revision), Self.isDeleteMarker(headers))
    }

    private static func isDeleteMarker(_ headers: NATSHeaders?) -> Bool {
        guard let operation = headers?[operationHeader] else { return false }
        return operation == "DEL" || operation == "PURGE"
    }

    /// The messages still to come, the last token of `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`
    /// (or token 10 of the longer form with a domain and account hash that later servers send).
    static func pending(inAckSubject subject: String?) -> Int? {
        guard let tokens = subject?.split(separator: ".", omittingEmptySubsequences: false) else { return nil }
        switch tokens.count {
        case 9: return Int(tokens[8])
        case 11...: return Int(tokens[10])
        default: return nil
        }
    }

    /// nats.go's rule: letters, digits and `-/_=.`, not starting or ending with a dot.
    static func validate(_ key: String) throws(NATSError) {
        let allowed = key.utf8.allSatisfy { $0.isASCIIAlphanumeric || "-/_=.".utf8.contains($0) }
        guard !key.isEmpty, allowed, !key.hasPrefix("."), !key.hasSuffix(".") else {
            throw .invalidArgument("key \"\(key)\" must be letters, digits and -/_=. only, not starting or ending with a dot")
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
