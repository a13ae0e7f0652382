#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The JetStream API as plain requests to `$JS.API.*`: JSON in, JSON out, with JetStream's errors
/// (`{"error": {"code", "err_code", "description"}}`) turned into ``NATSError``.
enum JetStreamAPI {
    static let prefix = "$JS.API."

    /// `STREAM.CREATE`: the fields of a stream configuration a key-value bucket sets.
    struct StreamConfig: Encodable {
        var name: String
        var subjects: [String]
        var retention = "limits"
        var maxConsumers = -1
        var maxMsgs = -1
        var maxBytes = -1
        /// Nanoseconds; 0 keeps messages for ever.
        var maxAge: Int64
        /// The bucket's history: 1, only the latest revision of each key.
        var maxMsgsPerSubject = 1
        var maxMsgSize: Int
        var discard = "new"
        var storage: String
        var numReplicas: Int
        /// Nanoseconds; the server refuses a window longer than `max_age`.
        var duplicateWindow: Int64
        var allowRollupHdrs = true
        var denyDelete = true
        /// Lets any server of the stream answer `DIRECT.GET` (2.9 and later), which returns the raw
        /// message: no JSON, no base64.
        var allowDirect = true
    }

    /// `CONSUMER.CREATE` of a short-lived push consumer that delivers the last message of every
    /// subject, headers only, and is removed by the server soon after its subscriber goes away.
    struct ConsumerCreateRequest: Encodable {
        struct Config: Encodable {
            var deliverSubject: String
            var deliverPolicy = "last_per_subject"
            var ackPolicy = "none"
            var filterSubject: String
            var headersOnly = true
            var replayPolicy = "instant"
            var memStorage = true
            var numReplicas = 1
            /// Nanoseconds without a subscriber after which the server deletes the consumer.
            var inactiveThreshold: Int64
        }
        var streamName: String
        var config: Config
    }

    struct ConsumerInfo: Decodable {
        var name: String
        var numPending: Int
    }

    /// What JetStream answers to a publish into a stream.
    struct PubAck: Decodable {
        var stream: String
        var seq: UInt64
    }

    /// Any API response, read for its error alone.
    private struct ErrorEnvelope: Decodable {
        struct Body: Decodable {
            var code: Int
            var errCode: Int?
            var description: String?
        }
        var error: Body?
    }

    struct Empty: Codable {}

    /// Sends `body` to `$JS.API.<api>` and decodes the answer.
    static func request<Response: Decodable>(
        _ api: String, _ body: some Encodable, as: Response.Type, on connection: NATSConnection
    ) async throws(NATSError) -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json: Data
        do {
            json = try encoder.encode(body)
        } catch {
            throw .invalidArgument("cannot encode a JetStream request: \(error)")
        }
        let reply = try await connection.request(ByteBuffer(bytes: json), to: prefix + api)
        return try decode(reply.payload, as: Response.self)
    }

    /// Decodes a JetStream answer, throwing the error it carries instead, if any.
    static func decode<Response: Decodable>(_ payload: ByteBuffer, as: Response.Type) throws(NATSError) -> Response {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = Data(payload.readableBytesView)
        if let error = (try? decoder.decode(ErrorEnvelope.self, from: data))?.error {
            throw .jetStream(.init(code: error.code, errorCode: error.errCode ?? 0, description: error.description ?? ""))
        }
        do {
            return try decoder.decode(Response.self, from: data)
        } catch {
            throw .unexpectedReply("\(String(decoding: payload.readableBytesView.prefix(200), as: UTF8.self)) (\(error))")
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
