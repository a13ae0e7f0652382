import CanvasWireCore
import Testing

/// The receiver's rules for runs, message by message as a viewer receives them.
@Suite struct RunFollowerTests {
    static func hello(run: String?, state: RunState?) -> ControlMessage.Hello {
        .init(role: "viewer", stream: "cam", size: nil, run: run, runState: state, policy: .all, limits: .default, highWaterMark: 0, server: "test")
    }

    @Test func aReceiverStartedBeforeTheSenderSavesExactlyTheNewRun() {
        var follower = RunFollower()
        follower.received(Self.hello(run: nil, state: nil))
        #expect(follower.received(.init(connected: false)) == nil)
        #expect(follower.received(.init(connected: true, run: "a-1", runState: .live, continued: false)) == nil)
        #expect(follower.receivedFrame() == .save)
        #expect(follower.receivedFrame() == .save)
        #expect(follower.following == "a-1")
        #expect(follower.received(.init(lastSequence: 1, run: "a-1")) == .finish)
    }

    @Test func theLeftoverFrameOfAnEndedRunIsSkippedAndTheNextRunSaved() {
        var follower = RunFollower()
        follower.received(Self.hello(run: "a-1", state: .ended))
        #expect(follower.receivedFrame() == .skip, "the retained frame of the finished run")
        #expect(follower.received(.init(connected: false, run: "a-1", runState: .ended)) == nil)
        #expect(follower.received(.init(connected: true, run: "a-2", runState: .live, continued: false)) == nil)
        #expect(follower.receivedFrame() == .save)
        #expect(follower.following == "a-2")
    }

    @Test func theLeftoverOfAnInterruptedRunIsSkippedUnlessTheRunContinues() {
        var follower = RunFollower()
        follower.received(Self.hello(run: "a-1", state: .interrupted))
        #expect(follower.receivedFrame() == .skip)
        #expect(follower.received(.init(connected: false, run: "a-1", runState: .interrupted)) == nil)
        #expect(follower.received(.init(connected: true, run: "a-1", runState: .live, continued: true)) == nil)
        #expect(follower.receivedFrame() == .save)
    }

    @Test func aNewRunAfterTheSavedOneEndsTheReceiverInsteadOfMixingIn() {
        var follower = RunFollower()
        follower.received(Self.hello(run: "a-1", state: .live))
        #expect(follower.receivedFrame() == .save, "joining a live run keeps its latest frame")
        #expect(follower.received(.init(connected: false, run: "a-1", runState: .interrupted)) == nil, "it may come back")
        #expect(follower.received(.init(connected: true, run: "a-1", runState: .live, continued: true)) == nil)
        #expect(follower.receivedFrame() == .save)
        #expect(follower.received(.init(connected: false, run: "a-1", runState: .interrupted)) == nil)
        #expect(follower.received(.init(connected: true, run: "a-2", runState: .live, continued: false)) == .finish)
    }

    @Test func anEndOfAnotherRunIsNotTheEndOfTheSavedOne() {
        var follower = RunFollower()
        follower.received(Self.hello(run: "a-1", state: .live))
        #expect(follower.receivedFrame() == .save)
        #expect(follower.received(.init(lastSequence: nil, run: "a-0")) == .skip)
        #expect(follower.received(.init(lastSequence: nil, run: "a-1")) == .finish)
    }

    @Test func aServerWithoutRunsGetsEverythingSavedUntilItsEnd() {
        var follower = RunFollower()
        follower.received(Self.hello(run: nil, state: nil))
        #expect(follower.received(.init(connected: true)) == nil)
        #expect(follower.receivedFrame() == .save)
        #expect(follower.received(.init(lastSequence: 3)) == .finish)
    }
}
