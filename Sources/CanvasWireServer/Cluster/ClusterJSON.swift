#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The JSON of the messages nodes exchange (reports, welcomes, claims): control-rate traffic, a few
/// messages a second per stream, so Foundation's coder is fast enough.
enum ClusterJSON {
    static func encode(_ value: some Encodable) -> ByteBuffer {
        // The cluster's messages are structs of strings, numbers and booleans: encoding cannot fail.
        ByteBuffer(bytes: try! JSONEncoder().encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws(ClusterError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw .malformedMessage("\(T.self) is not the JSON expected: \(error)")
        }
    }
}
