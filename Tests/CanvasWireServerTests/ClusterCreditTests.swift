import Testing

@testable import CanvasWireServer

/// Credit, retention and gaps between a stream's origin and the nodes that watch it, without a server.
@Suite struct ClusterCreditTests {
    typealias Ledger = OriginLedger<String>
    let start = ContinuousClock.now

    func report(
        _ node: String, lossless: Bool = true, at position: (UInt64, UInt64)? = nil, window: UInt64 = 4,
        resendFrom: UInt64? = nil, refresh: Bool = false
    ) -> Ledger.Report {
        .init(node: node, lossless: lossless, position: position, window: window, resendFrom: resendFrom, refresh: refresh)
    }

    func isWelcome(_ answer: Ledger.Answer) -> Bool {
        if case .welcome = answer { true } else { false }
    }

    func resent(_ answer: Ledger.Answer) -> [UInt64]? {
        if case .resend(let items) = answer { items.map(\.number) } else { nil }
    }

    @Test func aNewNodeIsWelcomedAndGrantedItsWindow() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        for item in ["a", "b"] { _ = ledger.published(item) }
        #expect(isWelcome(ledger.heard(report("n1", window: 3), now: start)))
        #expect(ledger.nodes["n1"]?.received == 2)
        #expect(ledger.nodes["n1"]?.grant == 5)
    }

    @Test func aLosslessNodeOutOfCreditHoldsPublishingBackUntilItGrantsMore() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("n1", window: 2), now: start)
        #expect(ledger.mayPublish)
        _ = ledger.published("1")
        _ = ledger.published("2")
        #expect(!ledger.mayPublish, "item 3 is beyond the grant of 2")
        #expect(ledger.retainedCount == 2)
        if case .none = ledger.heard(report("n1", at: (2, 4)), now: start) {} else { Issue.record("a grant needs no answer") }
        #expect(ledger.mayPublish)
        #expect(ledger.retainedCount == 0, "what every lossless node received is let go")
    }

    @Test func liveOnlyNodesNeverHoldPublishingBackNorKeepItems() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("n1", lossless: false, window: 1), now: start)
        for index in 0..<10 { _ = ledger.published("\(index)") }
        #expect(ledger.mayPublish)
        #expect(ledger.retainedCount == 0)
        #expect(!ledger.hasLosslessNodes)
    }

    @Test func theSlowestLosslessNodeDecides() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("fast", window: 100), now: start)
        _ = ledger.heard(report("slow", window: 1), now: start)
        _ = ledger.published("1")
        #expect(!ledger.mayPublish)
        _ = ledger.heard(report("fast", at: (1, 101)), now: start)
        #expect(!ledger.mayPublish)
        #expect(ledger.retainedCount == 1, "the slow node has not received item 1 yet")
        _ = ledger.heard(report("slow", at: (1, 2)), now: start)
        #expect(ledger.mayPublish)
        #expect(ledger.retainedCount == 0)
    }

    @Test func aGapIsFilledFromWhatIsKept() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("n1", window: 10), now: start)
        for item in ["1", "2", "3", "4"] { _ = ledger.published(item) }
        #expect(resent(ledger.heard(report("n1", at: (1, 11), resendFrom: 2), now: start)) == [2, 3, 4])
        #expect(ledger.nodes["n1"]?.received == 1)
    }

    @Test func aGapThatCannotBeFilledGetsAWelcome() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("live", lossless: false), now: start)
        for item in ["1", "2", "3"] { _ = ledger.published(item) }
        #expect(isWelcome(ledger.heard(report("live", lossless: false, at: (1, 1), resendFrom: 2), now: start)))
        #expect(ledger.nodes["live"]?.received == 3, "it starts again after the last item")
    }

    @Test func aSilentNodeStopsHoldingThePublisherBack() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("dead", window: 1), now: start)
        _ = ledger.published("1")
        #expect(!ledger.mayPublish)
        let early = ledger.expire(now: start + .seconds(2))
        #expect(early.isEmpty)
        let late = ledger.expire(now: start + .seconds(4))
        #expect(late == ["dead"])
        #expect(ledger.mayPublish)
        #expect(ledger.retainedCount == 0)
    }

    @Test func aForgottenNodeStillInTheEpochTakesUpWhereItIs() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("n1", window: 5), now: start)
        _ = ledger.published("1")
        _ = ledger.expire(now: start + .seconds(10))
        _ = ledger.published("2")
        if case .none = ledger.heard(report("n1", at: (1, 6)), now: start + .seconds(10)) {} else {
            Issue.record("item 2 is on its way to it: no welcome, no resend")
        }
        #expect(ledger.nodes["n1"]?.received == 1)
        #expect(ledger.mayPublish, "its grant of 6 covers item 3")
    }

    @Test func aRefreshAlwaysGetsAWelcome() {
        var ledger = Ledger(nodeTimeout: .seconds(3))
        _ = ledger.heard(report("n1"), now: start)
        #expect(isWelcome(ledger.heard(report("n1", at: (0, 4), refresh: true), now: start)))
    }

    @Test func mirrorDeliversInOrderAndDropsDuplicates() {
        var sequence = MirrorSequence()
        #expect(sequence.accept(epoch: 9, number: 1, holdGaps: true) == .foreignEpoch)
        let continued = sequence.welcome(epoch: 9, anchor: 4)
        #expect(!continued, "a first welcome continues nothing")
        #expect(sequence.accept(epoch: 9, number: 4, holdGaps: true) == .duplicate)
        #expect(sequence.accept(epoch: 9, number: 5, holdGaps: true) == .deliver)
        #expect(sequence.accept(epoch: 8, number: 6, holdGaps: true) == .foreignEpoch)
        #expect(sequence.last == 5)
    }

    @Test func aLosslessMirrorHoldsAGapUntilTheResendFillsIt() {
        var sequence = MirrorSequence()
        _ = sequence.welcome(epoch: 1, anchor: 0)
        #expect(sequence.accept(epoch: 1, number: 1, holdGaps: true) == .deliver)
        #expect(sequence.accept(epoch: 1, number: 3, holdGaps: true) == .gap(from: 2))
        #expect(sequence.accept(epoch: 1, number: 4, holdGaps: true) == .holding)
        #expect(sequence.accept(epoch: 1, number: 2, holdGaps: true) == .deliver, "the resend")
        #expect(sequence.accept(epoch: 1, number: 3, holdGaps: true) == .deliver)
        #expect(sequence.accept(epoch: 1, number: 4, holdGaps: true) == .deliver)
        #expect(sequence.awaitingFrom == nil)
    }

    @Test func aLiveMirrorDeliversPastAGap() {
        var sequence = MirrorSequence()
        _ = sequence.welcome(epoch: 1, anchor: 0)
        #expect(sequence.accept(epoch: 1, number: 3, holdGaps: false) == .deliverAfterGap)
        #expect(sequence.accept(epoch: 1, number: 2, holdGaps: false) == .duplicate, "never an older frame after a newer one")
    }

    @Test func aBeatRevealsItemsLostAtTheEnd() {
        var sequence = MirrorSequence()
        _ = sequence.welcome(epoch: 1, anchor: 0)
        _ = sequence.accept(epoch: 1, number: 1, holdGaps: true)
        #expect(sequence.beat(epoch: 1, lastPublished: 1, holdGaps: true) == nil)
        #expect(sequence.beat(epoch: 1, lastPublished: 3, holdGaps: true) == .gap(from: 2))
        #expect(sequence.beat(epoch: 1, lastPublished: 3, holdGaps: true) == nil, "asked once")
    }

    @Test func aWelcomeContinuesOnlyWhereTheNodeWas() {
        var sequence = MirrorSequence()
        _ = sequence.welcome(epoch: 1, anchor: 0)
        _ = sequence.accept(epoch: 1, number: 1, holdGaps: true)
        let exact = sequence.welcome(epoch: 1, anchor: 1)
        #expect(exact)
        let ahead = sequence.welcome(epoch: 1, anchor: 3)
        #expect(!ahead, "items 2 and 3 were missed")
        let other = sequence.welcome(epoch: 2, anchor: 3)
        #expect(!other, "another epoch")
    }

    @Test func theWindowHoldsAboutItsBytesOfFramesAndNeverFewerThanTwo() {
        var credit = CreditWindow(bytes: 8 << 20)
        #expect(credit.items == 2, "before the first frame")
        credit.noteFrame(bytes: 921_632)
        #expect(credit.items == 9, "640x360")
        credit.noteFrame(bytes: 8_294_432)
        #expect(credit.items == 2, "1080p")
    }

    @Test func creditMovesOnlyWhileViewersAreNotStalledAndAtHalfTheWindow() {
        var credit = CreditWindow(bytes: 8 << 20)
        credit.noteFrame(bytes: 1 << 20)  // a window of 8
        credit.restart(anchor: 0, window: 8)
        #expect(credit.grant(received: 3, mayRead: true) == nil, "3 of 8 used")
        #expect(credit.grant(received: 4, mayRead: true) == 12)
        #expect(credit.grant(received: 9, mayRead: false) == nil, "a stalled viewer freezes the grant")
        #expect(credit.grant(received: 9, mayRead: false, force: true) == 12, "the heartbeat repeats it unchanged")
        #expect(credit.grant(received: 9, mayRead: true) == 17)
    }
}
