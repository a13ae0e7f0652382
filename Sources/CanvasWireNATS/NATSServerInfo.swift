/// What the server announced in its `INFO`: who it is and what it accepts.
public struct NATSServerInfo: Sendable, Equatable, Decodable {
    /// The server's unique id; changes when a connection lands on another server.
    public var serverID: String
    /// The name the operator gave the server, or its id.
    public var serverName: String?
    /// The server's version, for example `2.9.10`.
    public var version: String
    /// Largest payload (headers included) the server accepts in one message: 1 MiB unless its
    /// configuration raises `max_payload`. Larger publishes are refused here, before they are sent.
    public var maxPayload: Int
    /// Whether the server understands `HPUB`/`HMSG` (2.2 and later).
    public var supportsHeaders: Bool
    /// Whether JetStream is enabled on the server.
    public var supportsJetStream: Bool
    /// Other servers of the cluster that clients may connect to.
    public var connectURLs: [String]

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id"
        case serverName = "server_name"
        case version
        case maxPayload = "max_payload"
        case supportsHeaders = "headers"
        case supportsJetStream = "jetstream"
        case connectURLs = "connect_urls"
    }

    /// Reads the fields of `INFO`; those a server may leave out get their protocol defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try container.decode(String.self, forKey: .serverID)
        serverName = try container.decodeIfPresent(String.self, forKey: .serverName)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        maxPayload = try container.decode(Int.self, forKey: .maxPayload)
        supportsHeaders = try container.decodeIfPresent(Bool.self, forKey: .supportsHeaders) ?? false
        supportsJetStream = try container.decodeIfPresent(Bool.self, forKey: .supportsJetStream) ?? false
        connectURLs = try container.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
    }
}
