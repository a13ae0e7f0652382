@testable import CanvasWireCore
import Testing

@Suite struct FrameHeaderTests {
    let limits = FrameLimits()

    func validHeader(format: PixelFormat = .rgba8, width: Int = 7, height: Int = 3) -> FrameHeader {
        FrameHeader(pixelFormat: format, width: width, height: height, sequence: 0x0102_0304_0506_0708, captureTimeMicros: 1_700_000_000_123_456)
    }

    @Test func encodesTheDocumentedLittleEndianLayout() {
        let bytes = validHeader().v1Bytes
        #expect(bytes.count == 32)
        #expect(Array(bytes[0..<4]) == Array("CWF1".utf8))
        #expect(bytes[4] == 1)
        #expect(bytes[5] == 0)
        #expect(Array(bytes[6..<8]) == [32, 0])
        #expect(Array(bytes[8..<12]) == [7, 0, 0, 0])
        #expect(Array(bytes[12..<16]) == [3, 0, 0, 0])
        #expect(Array(bytes[16..<24]) == [8, 7, 6, 5, 4, 3, 2, 1])
    }

    @Test(arguments: PixelFormat.allCases) func roundTrips(format: PixelFormat) throws {
        let header = validHeader(format: format, width: 1920, height: 1080)
        let parsed = try header.v1Bytes.withUnsafeBytes { try FrameHeader.parse($0, limits: limits) }
        #expect(parsed == header)
    }

    @Test func acceptsALongerHeaderAndReportsWhereThePayloadStarts() throws {
        var bytes = validHeader().v1Bytes
        bytes[6] = 40
        bytes += [UInt8](repeating: 0xEE, count: 8)
        let parsed = try bytes.withUnsafeBytes { try FrameHeader.parse($0, limits: limits) }
        #expect(parsed.headerLength == 40)
    }

    /// Each corruption of a valid header and the error it must produce.
    static let corruptions: [(String, @Sendable (inout [UInt8]) -> Void, String)] = [
        ("magic", { $0[0] = UInt8(ascii: "X") }, "not a CanvasWire v1 frame"),
        ("reserved format 0", { $0[4] = 0 }, "pixel format 0 is reserved"),
        ("reserved format 4", { $0[4] = 4 }, "pixel format 4 is reserved"),
        ("flags", { $0[5] = 1 }, "flags byte is 1"),
        ("header length", { $0[6] = 31 }, "header length 31 is below"),
        ("zero width", { $0[8] = 0 }, "width is 0"),
        ("zero height", { $0[12] = 0 }, "height is 0"),
        ("huge width", { $0[8] = 0x01; $0[9] = 0x41 }, "width 16641 exceeds the limit of 16384"),
        ("huge height", { $0[12] = 0x50; $0[13] = 0xC3 }, "height 50000 exceeds the limit of 16384"),
    ]

    @Test(arguments: corruptions.indices) func rejectsEachInvalidField(index: Int) {
        let (_, corrupt, message) = Self.corruptions[index]
        var bytes = validHeader().v1Bytes
        corrupt(&bytes)
        let error = #expect(throws: FrameError.self) {
            try bytes.withUnsafeBytes { try FrameHeader.parse($0, limits: limits) }
        }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error")")
    }

    @Test(arguments: corruptions.indices) func readerRejectsTheSameWayWhenBytesArriveOneAtATime(index: Int) {
        let (_, corrupt, message) = Self.corruptions[index]
        var bytes = validHeader().v1Bytes + [UInt8](repeating: 9, count: 7 * 3 * 4)
        corrupt(&bytes)
        var reader = FrameMessageReader(limits: limits)
        var failure: FrameError?
        for byte in bytes where failure == nil {
            do { _ = try reader.consume(bytes: [byte]) } catch { failure = error }
        }
        if failure == nil {
            do { _ = try reader.finish() } catch { failure = error }
        }
        #expect(failure?.description.contains(message) == true, "\(failure?.description ?? "no error")")
    }

    @Test func readerAcceptsAValidMessageByteByByteAndKnowsItsLengthEarly() throws {
        let header = validHeader()
        let bytes = header.v1Bytes + [UInt8](repeating: 9, count: 7 * 3 * 4)
        var reader = FrameMessageReader(limits: limits)
        var firstSeenAt: Int?
        for (offset, byte) in bytes.enumerated() {
            let parsed = try reader.consume(bytes: [byte])
            if parsed != nil { firstSeenAt = offset }
        }
        #expect(firstSeenAt == 31)
        #expect(reader.expectedMessageLength == bytes.count)
        #expect(try reader.finish() == header)
    }

    @Test func readerStopsAnOversizedPayloadAsSoonAsItOverflows() throws {
        var reader = FrameMessageReader(limits: limits)
        let bytes = validHeader().v1Bytes + [UInt8](repeating: 0, count: 7 * 3 * 4 + 1)
        #expect(throws: FrameError.payloadSizeMismatch(expected: 84, actual: 85)) {
            _ = try reader.consume(bytes: bytes)
        }
    }

    @Test func shortPayloadIsRejectedAtTheEnd() throws {
        var reader = FrameMessageReader(limits: limits)
        let bytes = validHeader().v1Bytes + [UInt8](repeating: 0, count: 10)
        _ = try reader.consume(bytes: bytes)
        #expect(throws: FrameError.payloadSizeMismatch(expected: 84, actual: 10)) { try reader.finish() }
    }

    @Test func emptyPNGPayloadIsRejected() throws {
        var reader = FrameMessageReader(limits: limits)
        let bytes = validHeader(format: .png).v1Bytes
        _ = try reader.consume(bytes: bytes)
        #expect(throws: FrameError.self) { try reader.finish() }
    }

    @Test func payloadLimitAppliesToDeclaredRGBASize() {
        let small = FrameLimits(maxWidth: 100, maxHeight: 100, maxPayloadBytes: 1000)
        #expect(throws: FrameError.payloadTooLarge(bytes: 40000, limit: 1000)) {
            try small.check(width: 100, height: 100)
        }
    }

    @Test func closeCodesFollowRFC6455() {
        #expect(FrameError.payloadTooLarge(bytes: 2, limit: 1).closeCode == 1009)
        #expect(FrameError.payloadSizeMismatch(expected: 2, actual: 1).closeCode == 1008)
        #expect(FrameError.invalidControlMessage("x").closeCode == 1007)
    }
}

extension FrameMessageReader {
    /// Feeds an array, keeping the reader's typed error.
    mutating func consume(bytes: [UInt8]) throws(FrameError) -> FrameHeader? {
        try bytes.withUnsafeBytes { raw in Result { () throws(FrameError) in try consume(raw) } }.get()
    }
}

@Suite struct FrameSplitTests {
    @Test func aMessageShorterThanItsDeclaredHeaderIsATruncatedHeader() {
        var header = FrameHeader(pixelFormat: .png, width: 1, height: 1, sequence: 0, captureTimeMicros: 0, headerLength: 40)
        header.headerLength = 40
        var bytes = header.v1Bytes
        bytes.replaceSubrange(6..<8, with: [40, 0])  // the header claims 40 bytes; the message has 35
        bytes += [1, 2, 3]
        #expect(throws: FrameError.truncatedHeader(available: 35, needed: 40)) {
            try bytes.withUnsafeBytes { try FrameHeader.split($0, limits: .default) }
        }
    }

    @Test func splitReturnsThePayloadAfterTheHeaderAndChecksItsLength() throws {
        let header = FrameHeader(pixelFormat: .rgba8, width: 1, height: 2, sequence: 9, captureTimeMicros: 1)
        let message = header.v1Bytes + [UInt8](repeating: 7, count: 8)
        let (parsed, length) = try message.withUnsafeBytes { try FrameHeader.split($0, limits: .default) }
        #expect(parsed == header && length == 8)
        #expect(throws: FrameError.payloadSizeMismatch(expected: 8, actual: 7)) {
            try message.dropLast().withUnsafeBytes { try FrameHeader.split($0, limits: .default) }
        }
        let delta = FrameHeader(pixelFormat: .rgba8Delta, width: 4, height: 4, sequence: 1, captureTimeMicros: 1)
        #expect(throws: FrameError.deltaCountTruncated(available: 3)) {
            try (delta.v1Bytes + [0, 0, 0]).withUnsafeBytes { try FrameHeader.split($0, limits: .default) }
        }
    }
}
