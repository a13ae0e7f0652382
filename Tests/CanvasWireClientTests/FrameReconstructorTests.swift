import CanvasWireCore
import NIOCore
import Testing

@testable import CanvasWireClient

/// How a viewer turns full frames and deltas into whole frames, fed messages without a server.
@Suite struct FrameReconstructorTests {
    typealias Rect = DeltaMessages.Rect
    let width = 37, height = 21

    func full(_ pixels: [UInt8], sequence: UInt64, width: Int? = nil, height: Int? = nil) -> ByteBuffer {
        DeltaMessages.message(format: 1, width: width ?? self.width, height: height ?? self.height, sequence: sequence, payload: pixels)
    }

    func feed(_ frames: inout FrameReconstructor, _ message: ByteBuffer) throws(FrameError) -> ReceivedFrame {
        try frames.frame(from: message, receivedAtMicros: 5, wireBytes: message.readableBytes)
    }

    @Test func deltasRebuildEveryFrameAndLeaveTheFramesHandedOnAsTheyWere() throws {
        var frames = FrameReconstructor(limits: .default)
        var expected = DeltaMessages.frame(width: width, height: height, seed: 0)
        var kept: [(ReceivedFrame, [UInt8])] = [(try feed(&frames, full(expected, sequence: 0)), expected)]
        let changes: [[Rect]] = [
            [Rect(x: 0, y: 0, w: 1, h: 1)],
            [Rect(x: 3, y: 2, w: 16, h: 16), Rect(x: 19, y: 2, w: 18, h: 5), Rect(x: 0, y: 20, w: 37, h: 1)],
            [],
            [Rect(x: 0, y: 0, w: 37, h: 21)],
            [Rect(x: 36, y: 0, w: 1, h: 21), Rect(x: 10, y: 10, w: 2, h: 3)],
        ]
        for (index, rects) in changes.enumerated() {
            let sequence = UInt64(index + 1)
            let next = DeltaMessages.frame(width: width, height: height, seed: index + 1)
            expected = DeltaMessages.paste(rects, from: next, into: expected, width: width)
            let message = DeltaMessages.delta(rects, of: next, width: width, height: height, sequence: sequence)
            let frame = try feed(&frames, message)
            #expect(Array(frame.payload.readableBytesView) == expected, "frame \(sequence)")
            #expect(frame.header.pixelFormat == .rgba8 && frame.header.sequence == sequence)
            #expect(frame.header.captureTimeMicros == 1_700_000_000_000_000 + sequence)
            #expect(frame.header.size == FrameSize(width: width, height: height))
            #expect(frame.wireFormat == .rgba8Delta && frame.wireBytes == message.readableBytes)
            kept.append((frame, expected))
        }
        for (frame, pixels) in kept {
            #expect(Array(frame.payload.readableBytesView) == pixels, "frame \(frame.header.sequence) changed after it was handed on")
        }
        #expect(kept[0].0.wireFormat == .rgba8 && kept[0].0.wireBytes == 32 + width * height * 4)
    }

    @Test func aConsumerThatKeepsNothingStillGetsExactFrames() throws {
        var frames = FrameReconstructor(limits: .default)
        var expected = DeltaMessages.frame(width: width, height: height, seed: 0)
        _ = try feed(&frames, full(expected, sequence: 0))
        for sequence in 1...20 {
            let next = DeltaMessages.frame(width: width, height: height, seed: sequence)
            let rects = [Rect(x: sequence, y: sequence / 2, w: 5, h: 3)]
            expected = DeltaMessages.paste(rects, from: next, into: expected, width: width)
            let frame = try feed(&frames, DeltaMessages.delta(rects, of: next, width: width, height: height, sequence: UInt64(sequence)))
            #expect(Array(frame.payload.readableBytesView) == expected, "frame \(sequence)")
        }
    }

    @Test func aSizeChangeStartsOverFromTheNewFullFrame() throws {
        var frames = FrameReconstructor(limits: .default)
        _ = try feed(&frames, full(DeltaMessages.frame(width: width, height: height, seed: 0), sequence: 0))
        let small = DeltaMessages.frame(width: 3, height: 2, seed: 1)
        _ = try feed(&frames, full(small, sequence: 1, width: 3, height: 2))
        let next = DeltaMessages.frame(width: 3, height: 2, seed: 2)
        let frame = try feed(&frames, DeltaMessages.delta([Rect(x: 2, y: 1, w: 1, h: 1)], of: next, width: 3, height: 2, sequence: 2))
        #expect(Array(frame.payload.readableBytesView) == DeltaMessages.paste([Rect(x: 2, y: 1, w: 1, h: 1)], from: next, into: small, width: 3))
        // A delta for the old size now has nothing to apply to.
        let stale = DeltaMessages.delta([], of: [], width: width, height: height, sequence: 3)
        let error = #expect(throws: FrameError.self) { try feed(&frames, stale) }
        #expect(error?.description.contains("applies to a full 37x21 RGBA8 frame, and none was received") == true)
        #expect(error?.closeCode == 1008)
    }

    @Test func aDeltaWithNothingBeforeItIsRefusedWith1008() throws {
        var frames = FrameReconstructor(limits: .default)
        let error = #expect(throws: FrameError.self) {
            try feed(&frames, DeltaMessages.delta([], of: [], width: width, height: height, sequence: 0))
        }
        #expect(error?.closeCode == 1008)
        #expect(error?.description.contains("none was received on this connection; send a full frame first") == true)
    }

    @Test func aDeltaAfterAPNGFrameIsRefused() throws {
        var frames = FrameReconstructor(limits: .default)
        _ = try feed(&frames, full(DeltaMessages.frame(width: width, height: height, seed: 0), sequence: 0))
        let png = try feed(&frames, DeltaMessages.message(format: 2, width: width, height: height, sequence: 1, payload: [0x89, 0x50]))
        #expect(png.header.pixelFormat == .png && png.wireFormat == .png)
        let error = #expect(throws: FrameError.self) {
            try feed(&frames, DeltaMessages.delta([], of: [], width: self.width, height: self.height, sequence: 2))
        }
        #expect(error?.closeCode == 1008)
    }

    static let malformed: [(String, [UInt8], String)] = [
        ("overlap", [2, 0, 0, 0] + rect(0, 0, 2, 2) + rect(1, 1, 2, 2), "overlaps an earlier rectangle"),
        ("out of bounds", [1, 0, 0, 0] + rect(36, 0, 2, 1), "extends past the frame's width 37"),
        ("short payload", Array(([1, 0, 0, 0] + rect(0, 0, 2, 2)).dropLast()), "the payload is cut short"),
        ("empty rectangle", [1, 0, 0, 0] + rect(0, 0, 0, 1) + [0, 0, 0, 0], "is 0x1"),
        ("trailing bytes", [0, 0, 0, 0, 9], "bytes after its 0 rectangles"),
    ]

    /// A rectangle's header and w*h pixels of 0xAB.
    static func rect(_ x: UInt8, _ y: UInt8, _ w: UInt8, _ h: UInt8) -> [UInt8] {
        [x, 0, y, 0, w, 0, h, 0] + [UInt8](repeating: 0xAB, count: Int(w) * Int(h) * 4)
    }

    @Test(arguments: malformed)
    func aMalformedDeltaIsRefusedWith1008AndChangesNothing(_ name: String, _ payload: [UInt8], _ message: String) throws {
        var frames = FrameReconstructor(limits: .default)
        let first = DeltaMessages.frame(width: width, height: height, seed: 0)
        _ = try feed(&frames, full(first, sequence: 0))
        let error = #expect(throws: FrameError.self, "\(name)") {
            try feed(&frames, DeltaMessages.message(format: 3, width: self.width, height: self.height, sequence: 1, payload: payload))
        }
        #expect(error?.description.contains(message) == true, "\(name): \(String(describing: error))")
        #expect(error?.closeCode == 1008)
        // The frame held is still the first one: an empty delta gives it back.
        let again = try feed(&frames, DeltaMessages.delta([], of: [], width: width, height: height, sequence: 2))
        #expect(Array(again.payload.readableBytesView) == first)
    }

    @Test func aDeltaForAFrameOverTheLimitsIsRefusedWith1009() throws {
        var frames = FrameReconstructor(limits: FrameLimits(maxWidth: 16, maxHeight: 16))
        let error = #expect(throws: FrameError.self) {
            try feed(&frames, DeltaMessages.delta([], of: [], width: 17, height: 1, sequence: 0))
        }
        #expect(error?.closeCode == 1009)
    }
}
