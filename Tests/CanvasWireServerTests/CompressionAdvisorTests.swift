import NIOCore
import Testing

@testable import CanvasWireServer

/// `--deflate auto`'s rule, message by message.
@Suite struct CompressionAdvisorTests {
    let deflaters = DeflaterPool()

    func message(_ bytes: Int, noise: Bool) -> ByteBuffer {
        var generator = SystemRandomNumberGenerator()
        return ByteBuffer(bytes: (0..<bytes).map { noise ? UInt8.random(in: 0...255, using: &generator) : UInt8($0 / 4000 % 200) })
    }

    @Test func smallMessagesAreCompressedWhileTheyShrinkAndRetriedEvery32nd() {
        let advisor = CompressionAdvisor(mode: .auto)
        let small = message(10_000, noise: true)
        #expect(advisor.shouldCompress(small, isDelta: true, windowBits: 15, deflaters: deflaters), "no verdict yet: try")
        advisor.record(originalBytes: 10_000, compressedBytes: 9_990, isDelta: true)
        let decisions = (0..<32).map { _ in advisor.shouldCompress(small, isDelta: true, windowBits: 15, deflaters: deflaters) }
        #expect(decisions == Array(repeating: false, count: 31) + [true], "the verdict stands for 31 more, then it is tried again")
        #expect(advisor.shouldCompress(small, isDelta: false, windowBits: 15, deflaters: deflaters), "full frames keep their own verdict")
    }

    @Test func largeFramesAreCompressedOnlyWhenTheirContentCompressesToAQuarter() {
        let screen = CompressionAdvisor(mode: .auto)
        #expect(screen.shouldCompress(message(2 << 20, noise: false), isDelta: false, windowBits: 15, deflaters: deflaters))
        let noise = CompressionAdvisor(mode: .auto)
        #expect(!noise.shouldCompress(message(2 << 20, noise: true), isDelta: false, windowBits: 15, deflaters: deflaters))
        #expect(!noise.shouldCompress(message(2 << 20, noise: false), isDelta: false, windowBits: 15, deflaters: deflaters),
                "the sample's verdict stands even if the content changed")
        noise.record(originalBytes: 2 << 20, compressedBytes: 1 << 20, isDelta: false)
        #expect(!noise.shouldCompress(message(2 << 20, noise: false), isDelta: false, windowBits: 15, deflaters: deflaters),
                "half the size is not enough for a large frame")
    }

    @Test func onAndOffDoNotAsk() {
        #expect(CompressionAdvisor(mode: .on).shouldCompress(message(3 << 20, noise: true), isDelta: false, windowBits: 15, deflaters: deflaters))
        #expect(!CompressionAdvisor(mode: .off).shouldCompress(message(10, noise: false), isDelta: true, windowBits: 15, deflaters: deflaters))
    }
}
