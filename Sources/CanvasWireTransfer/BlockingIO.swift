import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking system calls (a read from stdin, an inotify read) off the Swift concurrency pool,
/// whose few threads must never block.
enum BlockingIO {
    /// Runs `body` on a Dispatch thread and returns its result.
    ///
    /// Cancelling the calling task throws `CancellationError` at once: a read of stdin cannot be
    /// interrupted, so the call is abandoned rather than waited for (it finishes on its thread and its
    /// result is dropped). That is what lets a stopped sender close its connection while stdin is silent.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let waiter = Waiter<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard waiter.install(continuation) else { return }
                DispatchQueue.global().async { waiter.resume(with: Result { try body() }) }
            }
        } onCancel: {
            waiter.resume(with: .failure(CancellationError()))
        }
    }

    /// Reads up to `count` bytes from `descriptor`; an empty result means end of file.
    static func read(_ descriptor: Int32, upTo count: Int, name: String) throws(TransferError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        while true {
            let result = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, count) }
            if result >= 0 { return Array(bytes.prefix(result)) }
            if errno != EINTR { throw .readFailed(name, code: errno) }
        }
    }

    /// Reads exactly `count` bytes, or fewer only at end of file.
    static func readFully(_ descriptor: Int32, count: Int, name: String) throws(TransferError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, count - filled) }
            if result == 0 { break }
            if result < 0 {
                if errno == EINTR { continue }
                throw .readFailed(name, code: errno)
            }
            filled += result
        }
        return Array(bytes.prefix(filled))
    }

    /// A whole file's bytes.
    static func readFile(_ path: String) throws(TransferError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path, code: errno) }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        while true {
            let chunk = try read(descriptor, upTo: 1 << 20, name: path)
            if chunk.isEmpty { return contents }
            contents += chunk
        }
    }
}

/// Resumes a continuation exactly once: with the blocking call's result, or with cancellation,
/// whichever comes first (cancellation may even come before the continuation exists).
private final class Waiter<T: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<T, any Error>)
        case finished
    }

    private let state = Mutex<State>(.idle)

    /// Stores the continuation; `false` (after resuming it with cancellation) if it came too late.
    func install(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let installed = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .waiting(continuation)
            return true
        }
        if !installed { continuation.resume(throwing: CancellationError()) }
        return installed
    }

    func resume(with result: Result<T, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            defer { state = .finished }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        continuation?.resume(with: result)
    }
}
