/// RFC 6455 section 5.3 masking, eight bytes at a time.
///
/// Every byte a client sends is XORed with a 4-byte key, and every byte a server receives must be
/// XORed back. For a 1080p RGBA frame that is 8 MB per message in each direction, so the byte-at-a-time
/// loop of the WebSocket library dominated the time a frame spent in the relay; this works on 64-bit
/// words, which the compiler also vectorises.
package enum WebSocketMasking {
    /// XORs `bytes` in place with `key`, key byte 0 applied to the first byte.
    package static func apply(key: (UInt8, UInt8, UInt8, UInt8), to bytes: UnsafeMutableRawBufferPointer) {
        copy(from: UnsafeRawBufferPointer(bytes), to: bytes, key: key)
    }

    /// Writes `source` XORed with `key` into `destination`, which must be at least as long. Source and
    /// destination may be the same memory.
    package static func copy(
        from source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer,
        key: (UInt8, UInt8, UInt8, UInt8)
    ) {
        precondition(destination.count >= source.count, "masking destination is too small")
        let count = source.count
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        let keyBytes = [key.0, key.1, key.2, key.3]
        // The key laid out twice in memory order, read as one word so it lines up with the data words.
        let word = keyBytes.withUnsafeBytes { UInt64($0.loadUnaligned(as: UInt32.self)) }
        let pattern = word | word << 32
        var offset = 0
        while offset + 8 <= count {
            let value = input.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            output.storeBytes(of: value ^ pattern, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < count {
            output.storeBytes(of: input.load(fromByteOffset: offset, as: UInt8.self) ^ keyBytes[offset & 3], toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }
}
