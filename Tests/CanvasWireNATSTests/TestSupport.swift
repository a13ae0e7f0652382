import CanvasWireNATS
import Logging
import NIOCore
import Synchronization
import Testing

/// Fails the test with `what` instead of hanging when `body` does not finish within `seconds`.
///
/// Returns at the deadline even if `body` ignores cancellation (a task group would wait for it);
/// `body` is cancelled and left to finish on its own.
func withTimeout<T: Sendable>(
    _ seconds: Int = 20, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<T>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.waiting(continuation)
        let work = Task {
            do {
                outcome.resolve(.success(try await body()))
            } catch {
                outcome.resolve(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            work.cancel()
            outcome.resolve(.failure(ServerError("timed out after \(seconds) s: \(what)")))
        }
    }
}

/// Resumes a continuation with whichever result comes first: the work's or the deadline's.
private final class FirstOutcome<T: Sendable>: Sendable {
    private let lock = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func waiting(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { $0 = continuation }
    }

    func resolve(_ result: Result<T, any Error>) {
        lock.withLock { $0.take() }?.resume(with: result)
    }
}

/// Polls `condition` every 20 ms until it holds; fails after `seconds`.
func eventually(
    _ what: String, within seconds: Int = 20, _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ServerError("not true within \(seconds) s: \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// The next `count` elements of a sequence, failing after `seconds` instead of waiting for ever.
func next<S: AsyncSequence & Sendable>(
    _ count: Int, of sequence: S, within seconds: Int = 20
) async throws -> [S.Element] where S.Element: Sendable {
    try await withTimeout(seconds, "\(count) elements of \(S.self)") {
        var elements: [S.Element] = []
        for try await element in sequence {
            elements.append(element)
            if elements.count == count { break }
        }
        return elements
    }
}

/// Connects with timings short enough for tests.
func connect(
    _ urls: [String], configuration: NATSConfiguration = testConfiguration()
) async throws -> NATSConnection {
    var logger = Logger(label: "nats-test")
    logger.logLevel = .warning
    return try await NATSConnection.connect(to: urls, configuration: configuration, logger: logger)
}

func testConfiguration() -> NATSConfiguration {
    NATSConfiguration(
        name: "canvaswire-test", connectTimeout: .seconds(5), reconnectDelay: .milliseconds(20),
        maxReconnectDelay: .milliseconds(500), requestTimeout: .seconds(5)
    )
}

extension ByteBuffer {
    /// Bytes that differ from one position to the next, so a slice or an offset error shows.
    static func pattern(_ count: Int, seed: Int = 0) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ seed) })
    }
}
