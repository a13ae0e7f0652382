import CanvasWireWebSocket
import Synchronization

/// zlib compressors for frame messages, shared by every event loop of a server: making one costs an
/// allocation of about 256 KiB and its initialisation, too much per frame, and a compressor is not safe
/// to use from two threads at once, so each compression borrows one and gives it back.
final class DeflaterPool: Sendable {
    private let idle = Mutex<[Int: [MessageDeflater]]>([:])

    /// Runs `body` with a compressor for `windowBits`; `nil` if zlib could not make one.
    func withDeflater<T>(windowBits: Int, _ body: (MessageDeflater) throws -> T) rethrows -> T? {
        let deflater = idle.withLock { $0[windowBits]?.popLast() } ?? (try? MessageDeflater(windowBits: windowBits))
        guard let deflater else { return nil }
        defer { idle.withLock { $0[windowBits, default: []].append(deflater) } }
        return try body(deflater)
    }
}
