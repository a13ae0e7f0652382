import Synchronization

/// Decides, for `serve --deflate auto`, which of a stream's messages are worth compressing, from what
/// compressing its recent messages gave.
///
/// zlib at level 1 compresses 1080p RGBA at a few hundred MB/s, far slower than loopback or a LAN
/// carries it, and gains nothing on noise or video; it pays on deltas and on small frames of screen
/// content, which shrink several-fold. So a message is compressed when it is small enough and the
/// last compressed message of its kind shrank by at least a quarter; after one that did not, only
/// every 32nd is tried again, so a stream whose content changes is noticed. (Figures behind the
/// limits: docs/BENCHMARKS.md, permessage-deflate.)
final class CompressionAdvisor: Sendable {
    /// Larger messages are sent as they are.
    static let maxBytes = 1 << 20
    /// Compressed size over original size at or below which compressing pays.
    static let worthwhileRatio = 0.75
    static let retryEvery = 32

    /// What compressing a kind of message gave lately: full frames and deltas differ a lot.
    private struct Record {
        var paid = true
        var skippedSinceMiss = 0
    }

    private let mode: DeflateMode
    private let records = Mutex<[Bool: Record]>([:])

    init(mode: DeflateMode) {
        self.mode = mode
    }

    /// Whether to compress a message of `bytes`; `isDelta` tells deltas from full frames.
    func shouldCompress(bytes: Int, isDelta: Bool) -> Bool {
        switch mode {
        case .off: return false
        case .on: return true
        case .auto:
            guard bytes <= Self.maxBytes else { return false }
            return records.withLock { records in
                var record = records[isDelta] ?? Record()
                defer { records[isDelta] = record }
                if record.paid { return true }
                record.skippedSinceMiss += 1
                return record.skippedSinceMiss % Self.retryEvery == 0
            }
        }
    }

    /// Records what compressing a message gave.
    func record(originalBytes: Int, compressedBytes: Int, isDelta: Bool) {
        let paid = Double(compressedBytes) <= Double(originalBytes) * Self.worthwhileRatio
        records.withLock { records in
            records[isDelta] = Record(paid: paid, skippedSinceMiss: 0)
        }
    }
}
