import Testing

@testable import CanvasWireServer

@Suite struct WaterMarksTests {
    @Test func stallsAboveTheHighMarkAndRecoversOnlyAtTheLowMark() {
        var marks = WaterMarks(high: 2000, low: 500)
        marks.didQueue(bytes: 2000)
        #expect(marks.takeChange() == nil, "at the high mark is not above it")
        #expect(!marks.hasRoom, "nothing more is queued at the high mark")
        marks.didQueue(bytes: 1)
        #expect(marks.takeChange() == .stalled)
        #expect(marks.takeChange() == nil, "a change is reported once")
        marks.didWrite(bytes: 1500)
        #expect(marks.bufferedAmount == 501)
        #expect(marks.hasRoom)
        #expect(marks.takeChange() == nil, "below the high mark but above the low mark stays stalled")
        marks.didWrite(bytes: 1)
        #expect(marks.takeChange() == .recovered)
        #expect(!marks.isStalled)
    }

    @Test func aSecondReasonStallsAtOnceAndHoldsTheRecoveryBack() {
        var marks = WaterMarks(high: 2000, low: 500)
        #expect(marks.takeChange(alsoStalled: true) == .stalled, "stalls with nothing buffered")
        #expect(marks.takeChange(alsoStalled: true) == nil)
        #expect(marks.takeChange(alsoStalled: true) == nil, "empty buffer, but the other reason remains")
        #expect(marks.takeChange(alsoStalled: false) == .recovered)
    }
}
