public import NIOCore

/// A key's current value in a bucket.
public struct KeyValueEntry: Sendable, Equatable {
    /// The key, as given to the call that read it.
    public var key: String
    /// The bytes stored, as the direct get returned them.
    public var value: ByteBuffer
    /// The stream sequence of this revision: what ``NATSKeyValue/update(_:value:expectedRevision:)``
    /// and ``NATSKeyValue/delete(_:expectedRevision:)`` expect.
    public var revision: UInt64

    /// An entry, for comparing with what ``NATSKeyValue/get(_:)`` returns.
    public init(key: String, value: ByteBuffer, revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }
}
