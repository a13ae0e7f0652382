import CanvasWireCore
import CoreMetrics
import Testing

@testable import CanvasWireServer

/// Runs of a stream and the registry's forgetting of unused streams, without a socket.
@Suite struct StreamRunsTests {
    @Test func eachPublisherStartsARunUnlessItContinuesAnInterruptedOne() {
        var runs = StreamRuns()
        var ids = (1...).lazy.map { "r\($0)" }.makeIterator()
        #expect(runs.publisherAttached(continuing: nil) { ids.next()! } == ("r1", false))
        runs.framePublished()
        runs.publisherDetached()
        #expect(runs.current?.state == .interrupted)
        #expect(runs.latestFrameRunState == .interrupted)
        #expect(runs.publisherAttached(continuing: "r1") { ids.next()! } == ("r1", true), "a reconnect continues its run")
        #expect(runs.ended() == "r1")
        runs.publisherDetached()
        #expect(runs.current?.state == .ended, "leaving after end does not reopen the run")
        #expect(runs.publisherAttached(continuing: "r1") { ids.next()! } == ("r2", false), "an ended run does not continue")
        #expect(runs.latestFrameRun == "r1")
        #expect(runs.latestFrameRunState == .ended, "the retained frame is from a run that is over")
        #expect(runs.publisherMessage(connected: true, continued: false) == .init(connected: true, run: "r2", runState: .live, continued: false))
    }

    @Test func aRunIDFromAnotherRunOrServerStartsANewRun() {
        var runs = StreamRuns()
        _ = runs.publisherAttached(continuing: nil) { "r1" }
        runs.publisherDetached()
        #expect(runs.publisherAttached(continuing: "elsewhere-1") { "r2" } == ("r2", false))
    }

    func registry(timeout: Duration, maxStreams: Int = 2) -> StreamRegistry {
        StreamRegistry(maxStreams: maxStreams, idleTimeout: timeout, metricsFactory: NOOPMetricsHandler.instance)
    }

    @Test func anUnusedStreamIsForgottenAfterTheIdleTimeoutAndFreesItsPlace() throws {
        let registry = registry(timeout: .seconds(300))
        let a = try #require(registry.checkOut(StreamName("a")!))
        _ = try #require(registry.checkOut(StreamName("b")!))
        #expect(registry.checkOut(StreamName("c")!) == nil, "two streams is the limit")
        #expect(!registry.canServe(StreamName("c")!))
        registry.checkIn(a)
        registry.expireIdle(now: .now + .seconds(299))
        #expect(registry.existingStream(named: StreamName("a")!) != nil, "kept for late viewers until the timeout")
        registry.expireIdle(now: .now + .seconds(301))
        #expect(registry.existingStream(named: StreamName("a")!) == nil)
        #expect(registry.existingStream(named: StreamName("b")!) != nil, "a stream in use is never forgotten")
        #expect(registry.canServe(StreamName("c")!))
    }

    @Test func aZeroTimeoutForgetsAStreamAsSoonAsItsLastConnectionLeaves() throws {
        let registry = registry(timeout: .zero)
        let first = try #require(registry.checkOut(StreamName("a")!))
        let second = try #require(registry.checkOut(StreamName("a")!))
        #expect(first === second)
        registry.checkIn(first)
        #expect(registry.existingStream(named: StreamName("a")!) != nil)
        registry.checkIn(second)
        #expect(registry.existingStream(named: StreamName("a")!) == nil)
    }
}
