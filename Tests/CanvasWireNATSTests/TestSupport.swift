import CanvasWireNATS
import Logging
import NIOCore
import Testing

/// Fails the test with `what` instead of hanging when `body` does not finish within `seconds`.
func withTimeout<T: Sendable>(
    _ seconds: Int = 20, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw ServerError("timed out after \(seconds) s: \(what)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
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
