import CanvasWireCore
import Testing

@Suite struct ControlMessageTests {
    @Test func endRoundTrips() throws {
        let message = ControlMessage.end(.init(lastSequence: 299))
        #expect(message.json() == #"{"lastSequence":299,"type":"end"}"#)
        #expect(try ControlMessage(parsing: message.json()) == message)
    }

    @Test func endWithoutSequenceParses() throws {
        #expect(try ControlMessage(parsing: #"{"type":"end"}"#) == .end(.init(lastSequence: nil)))
    }

    @Test func helloCarriesLimits() throws {
        let hello = ControlMessage.hello(
            .init(role: "viewer", stream: "demo", size: FrameSize(width: 640, height: 360), policy: .latest,
                  limits: .default, highWaterMark: 4096, server: "test")
        )
        guard case .hello(let parsed) = try ControlMessage(parsing: hello.json()) else {
            Issue.record("hello did not parse as hello")
            return
        }
        #expect(parsed.limits.frameLimits == .default)
        #expect(parsed.width == 640 && parsed.protocol == 1)
    }

    @Test func unknownTypesAreIgnorableNotErrors() throws {
        #expect(try ControlMessage(parsing: #"{"type":"future-thing","x":1}"#) == .unknown("future-thing"))
    }

    @Test(arguments: ["not json", "[]", #"{"kind":"end"}"#, #"{"type":5}"#, #"{"type":"dropped","count":"x"}"#])
    func garbageIsAnInvalidControlMessage(text: String) {
        let error = #expect(throws: FrameError.self) { try ControlMessage(parsing: text) }
        #expect(error?.closeCode == 1007)
    }

    @Test func streamNames() {
        #expect(StreamName("demo-1.cam_2") != nil)
        #expect(StreamName(String(repeating: "a", count: 64)) != nil)
        #expect(StreamName(String(repeating: "a", count: 65)) == nil)
        #expect(StreamName("") == nil)
        #expect(StreamName("a/b") == nil)
        #expect(StreamName("é") == nil)
    }

    @Test func frameSizeParsing() {
        #expect(FrameSize(parsing: "1920x1080") == FrameSize(width: 1920, height: 1080))
        #expect(FrameSize(parsing: "0x10") == nil)
        #expect(FrameSize(parsing: "10") == nil)
        #expect(FrameSize(parsing: "10x-1") == nil)
    }
}
