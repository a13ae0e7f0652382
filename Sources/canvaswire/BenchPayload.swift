import NIOCore

/// Frame payloads whose every byte follows from the frame's sequence number, so that a viewer checks
/// each byte it receives rather than counting messages.
///
/// Word `i` of frame `n` is `base[i] ^ key(n)`: `base` is a fixed pseudo-random table, so a shifted,
/// truncated or swapped region shows up, and `key(n)` differs per frame, so a frame delivered under
/// the wrong sequence number or mixed with another frame shows up too. Writing and checking are one
/// pass of 64-bit operations each, cheap next to the copies the WebSocket itself makes.
struct BenchPayload: Sendable {
    private let base: [UInt64]

    /// - Parameter maxBytes: The largest payload that will be written or verified.
    init(maxBytes: Int) {
        var state: UInt64 = 0x6361_6E76_6173_7769  // "canvaswi"
        base = (0..<(maxBytes / 8 + 1)).map { _ in Self.splitMix(&state) }
    }

    static func key(_ sequence: UInt64) -> UInt64 {
        var state = sequence &+ 0x9E37_79B9_7F4A_7C15
        return splitMix(&state)
    }

    /// Appends frame `sequence`'s `count` payload bytes to `buffer`.
    func write(sequence: UInt64, count: Int, into buffer: inout ByteBuffer) {
        let key = Self.key(sequence)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            base.withUnsafeBufferPointer { base in
                let words = count / 8
                for index in 0..<words {
                    destination.storeBytes(of: (base[index] ^ key).littleEndian, toByteOffset: index * 8, as: UInt64.self)
                }
                var tail = (base[words] ^ key).littleEndian
                withUnsafeBytes(of: &tail) { tail in
                    for offset in 0..<(count - words * 8) { destination[words * 8 + offset] = tail[offset] }
                }
            }
            return count
        }
    }

    /// Whether `payload` is exactly frame `sequence`'s payload of its length.
    func verify(_ payload: ByteBuffer, sequence: UInt64) -> Bool {
        let count = payload.readableBytes
        guard count / 8 < base.count else { return false }
        let key = Self.key(sequence)
        return payload.withUnsafeReadableBytes { source in
            base.withUnsafeBufferPointer { base in
                let words = count / 8
                // Differences are OR-ed together instead of compared word by word, so the loop vectorises.
                var difference: UInt64 = 0
                for index in 0..<words {
                    let word = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                    difference |= word ^ base[index] ^ key
                }
                var tail = (base[words] ^ key).littleEndian
                withUnsafeBytes(of: &tail) { tail in
                    for offset in 0..<(count - words * 8) {
                        difference |= UInt64(source[words * 8 + offset] ^ tail[offset])
                    }
                }
                return difference == 0
            }
        }
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
