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

    /// Delivers like the connection does: queue the bytes as soon as the outbox says send.
    func deliver(_ delivery: ViewerOutbox.Delivery?, to outbox: inout ViewerOutbox) -> UInt64? {
        guard let delivery else { return nil }
        _ = outbox.didQueue(bytes: delivery.frame.message.readableBytes)
        return delivery.frame.header.sequence
    }

    @Test func latestSendsWhileBelowTheHighWaterMark() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 2500, lowWaterMark: 500)
        #expect(deliver(outbox.offer(frame(0)), to: &outbox) == 0)
        #expect(deliver(outbox.offer(frame(1)), to: &outbox) == 1)
        #expect(deliver(outbox.offer(frame(2)), to: &outbox) == 2)
        #expect(outbox.bufferedAmount == 3000)
        #expect(outbox.offer(frame(3)) == nil, "above the mark nothing is sent")
    }

    @Test func latestKeepsOnlyTheNewestHeldFrameAndReportsDrops() throws {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1000, lowWaterMark: 0)
        #expect(deliver(outbox.offer(frame(0)), to: &outbox) == 0)
        for sequence in 1...5 { #expect(outbox.offer(frame(UInt64(sequence))) == nil) }
        let (delivery, change) = outbox.didWrite(bytes: Self.frameBytes)
        #expect(change == nil)
        let released = try #require(delivery)
        #expect(released.frame.header.sequence == 5, "the newest frame, never an older one")
        #expect(released.dropped == .init(count: 4, total: 4))
        #expect(outbox.droppedTotal == 4)
    }

    @Test func latestDoesNotReleaseWhileStillAboveTheMark() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 1500, lowWaterMark: 0)
        _ = deliver(outbox.offer(frame(0)), to: &outbox)
        _ = deliver(outbox.offer(frame(1)), to: &outbox)
        #expect(outbox.offer(frame(2)) == nil)
        #expect(outbox.didWrite(bytes: 100).delivery == nil)
        #expect(outbox.didWrite(bytes: 900).delivery?.frame.header.sequence == 2)
    }

    @Test func allDeliversEveryFrameAndStallsAboveTheMarkWithHysteresis() {
        var outbox = ViewerOutbox(policy: .all, highWaterMark: 2500, lowWaterMark: 1000)
        var changes: [ViewerOutbox.StallChange?] = []
        for sequence in 0..<4 {
            let delivery = outbox.offer(frame(UInt64(sequence)))
            #expect(delivery?.frame.header.sequence == UInt64(sequence))
            changes.append(outbox.didQueue(bytes: Self.frameBytes))
        }
        #expect(changes == [nil, nil, .stalled, nil])
        #expect(outbox.isStalled)
        #expect(outbox.didWrite(bytes: Self.frameBytes).stallChange == nil, "3000 is still above the low mark")
        #expect(outbox.didWrite(bytes: Self.frameBytes).stallChange == nil, "2000 is still above the low mark")
        #expect(outbox.didWrite(bytes: Self.frameBytes).stallChange == .recovered)
        #expect(outbox.droppedTotal == 0)
    }

    @Test func flushReleasesTheHeldFrameBeforeAnEnd() {
        var outbox = ViewerOutbox(policy: .latest, highWaterMark: 500, lowWaterMark: 0)
        _ = deliver(outbox.offer(frame(0)), to: &outbox)
        #expect(outbox.offer(frame(1)) == nil)
        #expect(outbox.flush()?.frame.header.sequence == 1)
        #expect(outbox.flush() == nil)
    }
}

extension ViewerOutbox.Delivery: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.frame.header == rhs.frame.header && lhs.dropped == rhs.dropped
    }
}
