import CanvasWireTransfer
import Testing

@Suite struct OutputPatternTests {
    @Test(arguments: [
        ("frame-%06d.png", 42, "frame-000042.png"),
        ("%d.rgba", 7, "7.rgba"),
        ("shot%3d", 1234, "shot1234"),
        ("100%%-%04d.png", 5, "100%-0005.png"),
    ])
    func namesFramesBySequence(pattern: String, sequence: UInt64, expected: String) throws {
        let parsed = try #require(OutputPattern(pattern))
        #expect(parsed.name(for: sequence) == expected)
    }

    @Test(arguments: ["frame.png", "%d-%d.png", "out/%06d.png", "frame-%06x.png", "frame-%"])
    func refusesPatternsWithoutExactlyOneNumberOrWithAFolder(pattern: String) {
        #expect(OutputPattern(pattern) == nil)
    }
}
