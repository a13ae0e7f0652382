import Testing

@testable import CanvasWireNATS

@Suite struct ReconnectBackoffTests {
    @Test func triesEveryServerInTurnWithGrowingCappedDelays() {
        var backoff = ReconnectBackoff(serverCount: 3, initialDelay: .milliseconds(100), maxDelay: .milliseconds(1000))
        var attempts: [(Int, Duration)] = []
        for _ in 0..<7 {
            attempts.append(backoff.nextAttempt(jitter: 0))
            backoff.failed()
        }
        #expect(attempts.map(\.0) == [0, 1, 2, 0, 1, 2, 0])
        #expect(attempts.map(\.1) == [0, 100, 200, 400, 800, 1000, 1000].map { .milliseconds($0) })
    }

    @Test func jitterShortensTheDelayByUpToHalf() {
        var backoff = ReconnectBackoff(serverCount: 1, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        backoff.failed()
        #expect(backoff.nextAttempt(jitter: 1).delay == .milliseconds(50))
        #expect(backoff.nextAttempt(jitter: 0.5).delay == .milliseconds(75))
    }

    @Test func aLossStartsOverAtTheNextServerWithoutDelay() {
        var backoff = ReconnectBackoff(serverCount: 2, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        _ = backoff.nextAttempt(jitter: 0)
        backoff.failed()
        backoff.failed()
        backoff.connected(to: 0)
        #expect(backoff.failures == 0)
        let next = backoff.nextAttempt(jitter: 0)
        #expect(next.server == 1 && next.delay == .zero)
    }
}
