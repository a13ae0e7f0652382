/// A JetStream key-value bucket: the stream `KV_<name>` over the subjects `$KV.<name>.>`, keeping
/// only the latest revision of each key.
public struct KeyValueBucketConfiguration: Sendable {
    /// Where the stream keeps its messages.
    public enum Storage: String, Sendable {
        /// On disk in the server's store directory: survives a server restart.
        case file
        /// In the server's memory: faster, lost when the server stops.
        case memory
    }

    /// Letters, digits, `_` and `-`.
    public var name: String
    /// How long a revision lives; a key not written again within it disappears. The cluster uses
    /// this with heartbeats (updates) so that the claim of a node that died expires. `nil` keeps
    /// keys until they are deleted.
    public var ttl: Duration?
    /// File storage (the default) keeps claims across a server restart.
    public var storage: Storage
    /// Copies kept in a JetStream cluster (1, 3 or 5).
    public var replicas: Int
    /// Largest value accepted; `nil` leaves it to the server's `max_payload`.
    public var maxValueBytes: Int?

    /// - Parameters: see the properties.
    public init(
        name: String, ttl: Duration? = nil, storage: Storage = .file, replicas: Int = 1, maxValueBytes: Int? = nil
    ) {
        self.name = name
        self.ttl = ttl
        self.storage = storage
        self.replicas = replicas
        self.maxValueBytes = maxValueBytes
    }

    /// The stream this bucket is stored in.
    var streamConfig: JetStreamAPI.StreamConfig {
        let maxAge = ttl.map(JetStreamAPI.nanoseconds) ?? 0
        // nats.go's rule: the server's default duplicate window (2 minutes), or the TTL if shorter.
        let twoMinutes = JetStreamAPI.nanoseconds(.seconds(120))
        return JetStreamAPI.StreamConfig(
            name: "KV_\(name)",
            subjects: ["$KV.\(name).>"],
            maxAge: maxAge,
            maxMsgSize: maxValueBytes ?? -1,
            storage: storage.rawValue,
            numReplicas: replicas,
            duplicateWindow: maxAge > 0 ? min(maxAge, twoMinutes) : twoMinutes
        )
    }
}
