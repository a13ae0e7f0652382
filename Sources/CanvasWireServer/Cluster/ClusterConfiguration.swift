/// How a relay node joins a cluster of nodes through NATS (`canvaswire serve --nats`).
///
/// Every node of one cluster must use the same ``subjectPrefix`` and ``claimTTL``; the heartbeat
/// and timeouts may differ but are best kept equal.
public struct ClusterConfiguration: Sendable {
    /// `nats://host:port` of the NATS servers; the node connects to the first that answers and moves
    /// to the next when it loses it. The servers need JetStream (`nats-server -js`).
    public var natsURLs: [String]
    /// This node's name in the cluster: 1 to 64 letters, digits, `_` or `-`, unique among the nodes.
    /// `GET /streams` shows it as the node that holds a publisher, and a refused second publisher is
    /// told it.
    public var nodeName: String
    /// The first token of every subject and the bucket's name (`<prefix>_streams`), so that several
    /// clusters can share one NATS.
    public var subjectPrefix: String
    /// How often a node tells each origin it still watches, an origin tells watching nodes it is
    /// alive, and a node renews its claims.
    public var heartbeatInterval: Duration
    /// A watching node not heard from for this long no longer holds the publisher back, and an origin
    /// silent for this long is taken for gone (its viewers are told the publisher left).
    public var nodeTimeout: Duration
    /// How long a claim on a stream outlives the last renewal of a node that died: after it, a
    /// publisher on another node may take the stream. The bucket is created with it (its `max_age`).
    public var claimTTL: Duration
    /// Bytes of frames an origin may have in flight towards a node with lossless viewers before it
    /// needs more credit (the window; at least two frames).
    public var creditBytes: Int
    /// The origin stops handing frames to NATS while its connection has more than this many bytes
    /// not yet written: it drops frames for live viewers and pauses the publisher for lossless ones.
    public var natsHighWaterMark: Int

    /// - Parameters: see the properties.
    public init(
        natsURLs: [String],
        nodeName: String,
        subjectPrefix: String = "canvaswire",
        heartbeatInterval: Duration = .seconds(1),
        nodeTimeout: Duration = .seconds(3),
        claimTTL: Duration = .seconds(6),
        creditBytes: Int = 8 << 20,
        natsHighWaterMark: Int = 16 << 20
    ) {
        self.natsURLs = natsURLs
        self.nodeName = nodeName
        self.subjectPrefix = subjectPrefix
        self.heartbeatInterval = heartbeatInterval
        self.nodeTimeout = nodeTimeout
        self.claimTTL = claimTTL
        self.creditBytes = creditBytes
        self.natsHighWaterMark = natsHighWaterMark
    }

    /// Whether `name` can name a node: it becomes a subject token.
    public static func isValidNodeName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}
