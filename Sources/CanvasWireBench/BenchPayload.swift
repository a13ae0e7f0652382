import NIOCore

/// Frame payloads whose every byte follows from the frame's sequence number, so that a viewer checks
/// each byte it receives rather than counting messages.
///
/// Word `i` of frame `n` is `base[i % 4096] ^ key(n) ^ (i / 4096) &* odd`: `base` is a 32 KiB
/// pseudo-random table that stays in the L1/L2 cache (a table as large as the frame doubled the
/// memory traffic of writing and checking), the block term makes every 32 KiB block different, so a
/// shifted, truncated or swapped region shows up, and `key(n)` differs per frame, so a frame
/// delivered under the wrong sequence number or mixed with another frame shows up too. Writing and
/// checking are one pass of 64-bit operations each.
struct BenchPayload: Sendable {
    private static let blockWords = 4096
    private static let blockMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    private let base: [UInt64]

    init() {
        var state: UInt64 = 0x6361_6E76_6173_7769  // "canvaswi"
        base = (0..<Self.blockWords).map { _ in Self.splitMix(&state) }
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
                forEachBlock(words: count / 8, key: key) { wordOffset, words, blockKey in
                    let start = destination.baseAddress! + wordOffset &* 8
                    for index in 0..<words {
                        start.storeBytes(of: (base[index] ^ blockKey).littleEndian, toByteOffset: index &* 8, as: UInt64.self)
                    }
                }
                var tail = word(count / 8, key: key, base: base).littleEndian
                withUnsafeBytes(of: &tail) { tail in
                    for offset in 0..<(count % 8) { destination[count / 8 * 8 + offset] = tail[offset] }
                }
            }
            return count
        }
    }

    /// Whether `payload` is exactly frame `sequence`'s payload of its length.
    func verify(_ payload: ByteBuffer, sequence: UInt64) -> Bool {
        let count = payload.readableBytes
        let key = Self.key(sequence)
        return payload.withUnsafeReadableBytes { source in
            base.withUnsafeBufferPointer { base in
                // Differences are OR-ed together instead of compared word by word, so the loop vectorises.
                var difference: UInt64 = 0
                forEachBlock(words: count / 8, key: key) { wordOffset, words, blockKey in
                    let start = source.baseAddress! + wordOffset &* 8
                    for index in 0..<words {
                        let word = UInt64(littleEndian: start.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self))
                        difference |= word ^ base[index] ^ blockKey
                    }
                }
                var tail = word(count / 8, key: key, base: base).littleEndian
                withUnsafeBytes(of: &tail) { tail in
                    for offset in 0..<(count % 8) {
                        difference |= UInt64(source[count / 8 * 8 + offset] ^ tail[offset])
                    }
                }
                return difference == 0
            }
        }
    }

    /// Calls `body` for each run of whole words that shares one block key: the word offset where the
    /// run starts, its length (at most one table's worth) and the key.
    private func forEachBlock(words: Int, key: UInt64, _ body: (Int, Int, UInt64) -> Void) {
        var block = 0
        while block &* Self.blockWords < words {
            let start = block &* Self.blockWords
            body(start, min(Self.blockWords, words &- start), key ^ (UInt64(block) &* Self.blockMultiplier))
            block &+= 1
        }
    }

    /// Word `index` of the payload whose key is `key`.
    private func word(_ index: Int, key: UInt64, base: UnsafeBufferPointer<UInt64>) -> UInt64 {
        base[index % Self.blockWords] ^ key ^ (UInt64(index / Self.blockWords) &* Self.blockMultiplier)
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
