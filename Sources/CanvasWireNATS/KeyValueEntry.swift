public import NIOCore

/// A key's current value in a bucket.
public struct KeyValueEntry: Sendable, Equatable {
    public var key: String
    public var value: ByteBuffer
    /// The stream sequence of this revision: what ``NATSKeyValue/update(_:value:expectedRevision:)``
    /// and ``NATSKeyValue/delete(_:expectedRevision:)`` expect.
    public var revision: UInt64

    public init(key: String, value: ByteBuffer, revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }
}
