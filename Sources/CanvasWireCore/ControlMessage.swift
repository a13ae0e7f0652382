#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON control message, carried in a WebSocket text message as `{"type": ...}`.
///
/// Readers ignore types they do not know (they decode as ``unknown(_:)``), so later versions can add
/// messages without breaking older clients.
public enum ControlMessage: Hashable, Sendable {
    /// Server to client, the first message on every connection.
    case hello(Hello)
    /// Publisher to server: the finite stream has ended. Server to viewers: forwarded after the last frame.
    case end(End)
    /// Server to a `latest` viewer: frames it skipped because it could not keep up.
    case dropped(Dropped)
    /// Server to viewers: a publisher connected to or left the stream.
    case publisher(PublisherState)
    /// A type this version does not know; ignore it.
    case unknown(String)

    public struct Hello: Codable, Hashable, Sendable {
        /// Wire format version, 1.
        public var `protocol`: Int
        /// `viewer` or `publisher`.
        public var role: String
        public var stream: String
        /// Size of the stream's latest frame, absent while the stream has none.
        public var width: Int?
        public var height: Int?
        /// To a publisher: the run it is sending, to continue after a reconnect (`?run=ID`). To a
        /// viewer: the run the latest frame (sent right after the hello) belongs to; absent while the
        /// stream has no frame.
        public var run: String?
        /// To a viewer: whether ``run`` is still live, ended, or interrupted.
        public var runState: RunState?
        /// The viewer's delivery policy as sent (`latest` or `all`); absent for publishers. Kept as text
        /// so that a policy a later server adds still decodes; see ``deliveryPolicy``.
        public var policy: String?
        /// The viewer's encoding as sent (`raw` or `delta`); absent for publishers and from servers that
        /// predate delta frames, which send every frame whole.
        public var encoding: String?
        public var limits: Limits
        /// Bytes a connection may buffer before the server holds back frames (`latest`) or pauses the
        /// publisher (`all`).
        public var highWaterMark: Int
        public var server: String

        public init(
            role: String, stream: String, size: FrameSize?, run: String? = nil, runState: RunState? = nil,
            policy: DeliveryPolicy?, encoding: ViewerEncoding? = nil, limits: FrameLimits, highWaterMark: Int, server: String
        ) {
            self.protocol = 1
            self.role = role
            self.stream = stream
            self.width = size?.width
            self.height = size?.height
            self.run = run
            self.runState = runState
            self.policy = policy?.rawValue
            self.encoding = encoding?.rawValue
            self.limits = Limits(limits)
            self.highWaterMark = highWaterMark
            self.server = server
        }

        /// ``policy`` as a ``DeliveryPolicy``, `nil` for publishers and for policies this version does not know.
        public var deliveryPolicy: DeliveryPolicy? { policy.flatMap(DeliveryPolicy.init(rawValue:)) }
    }

    /// ``FrameLimits`` as the hello spells them.
    public struct Limits: Codable, Hashable, Sendable {
        public var maxWidth: Int
        public var maxHeight: Int
        public var maxPayloadBytes: Int

        public init(_ limits: FrameLimits) {
            maxWidth = limits.maxWidth
            maxHeight = limits.maxHeight
            maxPayloadBytes = limits.maxPayloadBytes
        }

        public var frameLimits: FrameLimits {
            FrameLimits(maxWidth: maxWidth, maxHeight: maxHeight, maxPayloadBytes: maxPayloadBytes)
        }
    }

    public struct End: Codable, Hashable, Sendable {
        /// Sequence number of the stream's last frame, absent if it sent none.
        public var lastSequence: UInt64?
        /// Server to viewers: the run that ended.
        public var run: String?

        public init(lastSequence: UInt64?, run: String? = nil) {
            self.lastSequence = lastSequence
            self.run = run
        }
    }

    public struct Dropped: Codable, Hashable, Sendable {
        /// Frames skipped since the previous frame this viewer received.
        public var count: UInt64
        /// Frames skipped since this viewer connected.
        public var total: UInt64

        public init(count: UInt64, total: UInt64) {
            self.count = count
            self.total = total
        }
    }

    public struct PublisherState: Codable, Hashable, Sendable {
        public var connected: Bool
        /// The stream's current run: the one the connected publisher sends, or the one the publisher
        /// that left was sending. Absent while the stream never had a publisher. Every frame after
        /// this message belongs to it.
        public var run: String?
        public var runState: RunState?
        /// With `connected`: the publisher reconnected and continues an interrupted run, so the frames
        /// that follow carry on from the ones before, instead of starting a new run.
        public var continued: Bool?

        public init(connected: Bool, run: String? = nil, runState: RunState? = nil, continued: Bool? = nil) {
            self.connected = connected
            self.run = run
            self.runState = runState
            self.continued = continued
        }
    }
}

extension ControlMessage {
    private struct TypeProbe: Decodable {
        var type: String
    }

    private struct Tagged<Body: Encodable>: Encodable {
        var type: String
        var body: Body

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: TypeKey.self)
            try container.encode(type, forKey: .type)
            try body.encode(to: encoder)
        }
    }

    private enum TypeKey: String, CodingKey { case type }

    /// The message's `type` field.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .end: "end"
        case .dropped: "dropped"
        case .publisher: "publisher"
        case .unknown(let type): type
        }
    }

    /// The message as one line of JSON.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            switch self {
            case .hello(let body): data = try encoder.encode(Tagged(type: type, body: body))
            case .end(let body): data = try encoder.encode(Tagged(type: type, body: body))
            case .dropped(let body): data = try encoder.encode(Tagged(type: type, body: body))
            case .publisher(let body): data = try encoder.encode(Tagged(type: type, body: body))
            case .unknown: data = try encoder.encode(["type": type])
            }
        } catch {
            // Plain structs of strings and integers always encode.
            preconditionFailure("control message failed to encode: \(error)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses a text message.
    ///
    /// - Throws: ``FrameError`` (close code 1007) when the text is not a JSON object with a string `type`,
    ///   or when a known type lacks a required field.
    public init(parsing text: some StringProtocol) throws(FrameError) {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        let type: String
        do {
            type = try decoder.decode(TypeProbe.self, from: data).type
        } catch {
            throw .invalidControlMessage("expected a JSON object with a string \"type\" field")
        }
        do {
            switch type {
            case "hello": self = .hello(try decoder.decode(Hello.self, from: data))
            case "end": self = .end(try decoder.decode(End.self, from: data))
            case "dropped": self = .dropped(try decoder.decode(Dropped.self, from: data))
            case "publisher": self = .publisher(try decoder.decode(PublisherState.self, from: data))
            default: self = .unknown(type)
            }
        } catch {
            throw .invalidControlMessage("\"\(type)\" message has missing or mistyped fields")
        }
    }
}
