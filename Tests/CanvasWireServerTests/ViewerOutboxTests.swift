import CanvasWireCore
import NIOCore
import Testing

@testable import CanvasWireServer

@Suite struct ViewerOutboxTests {
    static let frameBytes = 1000

    func frame(_ sequence: UInt64) -> Frame {
        let header = FrameHeader(pixelFormat: .png, width: 1, height: 1, sequence: sequence, captureTimeMicros: 0)
        var buffer = ByteBuffer(bytes: header.v1Bytes)
        buffer.writeRepeatingByte(0, count: Self.frameBytes - 32)
        return Frame(header: header, message: buffer)
    }

    /// What the connection writes, in order: frame sequence numbers, and control message types.
    enum Written: Equatable {
        case frame(UInt64, dropped: ControlMessage.Dropped? = nil)
        case message(String)
    }

    /// Writes like the connection does: takes everything the outbox lets go, queueing each
    /// message's bytes as it is written (a control message counts as 10 bytes).
    func drain(_ outbox: inout ViewerOutbox) -> [Written] {
        var written: [Written] = []
        while let outgoing = outbox.nextOutgoing() {
            switch outgoing {
            case .frame(let delivery):
                outbox.didQueue(bytes: delivery.frame.message.readableBytes)
                written.append(.frame(delivery.frame.header.sequence, dropped: delivery.dropped))
            case .message(let message):
                outbox.didQueue(bytes: 10)
                written.append(.message(message.type))
            }
        }
        return written
    }

    func offer(_ sequences: ClosedRange<UInt64>, to outbox: inout ViewerOutbox) -> [Written] {
        sequences.flatMap { sequence in
            outbox.offer(frame(sequence))
            return drain(&outbox)
        }
    }

    static let end = ControlMessage.end(.init(lastSequence: 9))

    // MARK: bufferedAmount

    @Test func latestSendsWhileBelowTheHighWaterMark() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 2500, lowWaterMark: 500)
        #expect(offer(0...2, to: &outbox) == [.frame(0), .frame(1), .frame(2)])
        #expect(outbox.bufferedAmount == 3000)
        #expect(offer(3...3, to: &outbox) == [], "above the mark nothing is sent")
    }

    @Test func latestKeepsOnlyTheNewestHeldFrameAndReportsDrops() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1000, lowWaterMark: 0)
        #expect(offer(0...5, to: &outbox) == [.frame(0)])
        outbox.didWrite(bytes: Self.frameBytes)
        #expect(drain(&outbox) == [.frame(5, dropped: .init(count: 4, total: 4))], "the newest frame, never an older one")
        #expect(outbox.droppedTotal == 4)
        #expect(outbox.takeStallChange() == nil, "a live viewer never holds its publisher back")
    }

    @Test func latestDoesNotReleaseWhileStillAboveTheMark() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1500, lowWaterMark: 0)
        #expect(offer(0...2, to: &outbox) == [.frame(0), .frame(1)])
        outbox.didWrite(bytes: 100)
        #expect(drain(&outbox) == [])
        outbox.didWrite(bytes: 900)
        #expect(drain(&outbox) == [.frame(2)])
    }

    @Test func allDeliversEveryFrameAndStallsAboveTheMarkWithHysteresis() {
        var outbox = ViewerOutbox(policy: .all, highWaterMark: 2500, lowWaterMark: 1000)
        var changes: [WaterMarks.Change?] = []
        for sequence in UInt64(0)...3 {
            #expect(offer(sequence...sequence, to: &outbox) == [.frame(sequence)])
            changes.append(outbox.takeStallChange())
        }
        #expect(changes == [nil, nil, .stalled, nil])
        #expect(outbox.isStalled)
        outbox.didWrite(bytes: Self.frameBytes)
        #expect(outbox.takeStallChange() == nil, "3000 is still above the low mark")
        outbox.didWrite(bytes: Self.frameBytes)
        #expect(outbox.takeStallChange() == nil, "2000 is still above the low mark")
        outbox.didWrite(bytes: Self.frameBytes)
        #expect(outbox.takeStallChange() == .recovered)
        #expect(outbox.droppedTotal == 0)
    }

    @Test func aHeldFrameGoesBeforeAControlMessageWhateverTheBuffer() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 500, lowWaterMark: 0)
        #expect(offer(0...1, to: &outbox) == [.frame(0)])
        outbox.offer(Self.end)
        #expect(drain(&outbox) == [.frame(1), .message("end")])
        #expect(drain(&outbox) == [])
    }

    // MARK: Acknowledgements

    @Test(arguments: [DeliveryPolicy.latest, .all])
    func neverMoreThanTheWindowInFlight(policy: DeliveryPolicy) throws {
        var outbox = ViewerOutbox(policy: policy, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 3)
        #expect(offer(0...9, to: &outbox) == [.frame(0), .frame(1), .frame(2)], "the buffer is far from full")
        #expect(outbox.framesInFlight == 3)
        // The socket took everything: the window alone holds frames back.
        outbox.didWrite(bytes: outbox.bufferedAmount)
        #expect(drain(&outbox) == [])
        try outbox.acknowledge(0)
        #expect(outbox.framesInFlight == 2)
        // One frame for the one acknowledged: the next in order, or for `latest` the newest, never a stale one.
        let expected: [Written] = policy == .all ? [.frame(3)] : [.frame(9, dropped: .init(count: 6, total: 6))]
        #expect(drain(&outbox) == expected)
        #expect(outbox.framesInFlight == 3)
    }

    @Test func latestGetsTheNewestFrameWhenItAcks() throws {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 1)
        #expect(offer(0...6, to: &outbox) == [.frame(0)])
        try outbox.acknowledge(0)
        #expect(drain(&outbox) == [.frame(6, dropped: .init(count: 5, total: 5))])
        #expect(offer(7...7, to: &outbox) == [], "frame 6 is not acknowledged yet")
        try outbox.acknowledge(6)
        #expect(drain(&outbox) == [.frame(7)])
    }

    @Test func anAckCoversEveryFrameBeforeIt() throws {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 4)
        #expect(offer(0...3, to: &outbox).count == 4)
        try outbox.acknowledge(2)
        #expect(outbox.framesInFlight == 1, "a viewer that drew only frame 2 of 0-2 acks it alone")
        #expect(throws: FrameError.ackNotInFlight(sequence: 1, inFlight: [3])) { try outbox.acknowledge(1) }
    }

    @Test func aRepeatedSequenceNumberNamesTheOlderFrame() throws {
        // A new run restarts the numbering: 5 and 6 of one run, then 5 of the next.
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 3)
        #expect(offer(5...6, to: &outbox) == [.frame(5), .frame(6)])
        #expect(offer(5...5, to: &outbox) == [.frame(5)])
        try outbox.acknowledge(5)
        #expect(outbox.framesInFlight == 2)
        try outbox.acknowledge(5)
        #expect(outbox.framesInFlight == 0)
    }

    @Test func acksForFramesNotInFlightAreRefused() throws {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 2)
        #expect(throws: FrameError.ackNotInFlight(sequence: 0, inFlight: [])) { try outbox.acknowledge(0) }
        _ = offer(0...0, to: &outbox)
        #expect(throws: FrameError.ackNotInFlight(sequence: 7, inFlight: [0])) { try outbox.acknowledge(7) }
        try outbox.acknowledge(0)
        let again = #expect(throws: FrameError.self) { try outbox.acknowledge(0) }
        #expect(again?.closeCode == 1008)
        #expect(again?.description.contains("not in flight") == true)
    }

    @Test func acksWithoutAWindowAreRefused() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0)
        _ = offer(0...0, to: &outbox)
        let error = #expect(throws: FrameError.ackWithoutWindow) { try outbox.acknowledge(0) }
        #expect(error?.closeCode == 1008)
        #expect(outbox.framesInFlight == 0, "without acks nothing is counted")
    }

    @Test func aLosslessViewerWithAFullWindowHoldsItsPublisherBack() throws {
        var outbox = ViewerOutbox(policy: .all, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 2)
        #expect(offer(0...1, to: &outbox) == [.frame(0), .frame(1)])
        #expect(outbox.takeStallChange() == nil, "a full window with nothing waiting holds nothing back")
        #expect(offer(2...3, to: &outbox) == [])
        #expect(outbox.takeStallChange() == .stalled)
        outbox.offer(Self.end)
        #expect(drain(&outbox) == [], "the end waits behind the frames")
        outbox.didWrite(bytes: outbox.bufferedAmount)
        try outbox.acknowledge(0)
        #expect(drain(&outbox) == [.frame(2)])
        #expect(outbox.takeStallChange() == nil, "frame 3 still waits")
        try outbox.acknowledge(2)
        #expect(drain(&outbox) == [.frame(3), .message("end")], "every frame, in order, then the end")
        outbox.didWrite(bytes: outbox.bufferedAmount)
        #expect(outbox.takeStallChange() == .recovered)
        #expect(outbox.droppedTotal == 0)
    }

    @Test func aHeldFrameThatTheWindowCannotTakeIsDroppedAtARunBoundary() throws {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1 << 30, lowWaterMark: 0, ackWindow: 1)
        #expect(offer(0...1, to: &outbox) == [.frame(0)])
        outbox.offer(Self.end)
        #expect(drain(&outbox) == [.message("end")], "frame 1 could not go before the end")
        try outbox.acknowledge(0)
        #expect(offer(2...2, to: &outbox) == [.frame(2, dropped: .init(count: 1, total: 1))])
    }
}
