import CanvasWireCore
import Foundation
import Testing

/// Inputs the fuzz targets (`tools/fuzz`) crashed on, replayed from `Tests/Fuzz/regressions/`.
@Suite struct FuzzRegressionTests {
    static let regressions = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/regressions")

    /// fuzz-frame-reader: limits above 2^31 let `width * height * 4` overflow and trap in
    /// `FrameLimits.check`. An overflowing size is now refused as too large.
    @Test func sizeProductOverflowIsRefusedNotTrapped() throws {
        let limits = FrameLimits(maxWidth: Int(UInt32.max) << 1, maxHeight: Int(UInt32.max) << 1, maxPayloadBytes: .max)
        #expect(throws: FrameError.self) { try limits.check(width: Int(UInt32.max), height: Int(UInt32.max)) }

        let input = try Data(contentsOf: Self.regressions.appendingPathComponent("frame-reader/limits-product-overflow"))
        let bytes = [UInt8](input)
        // The fuzz target's first four bytes choose the limits; this input picks huge dimension limits.
        let huge = FrameLimits(
            maxWidth: Int(UInt32.max) << (bytes[0] >> 4), maxHeight: Int(UInt32.max) << (bytes[1] >> 4),
            maxPayloadBytes: Int.max >> (bytes[2] >> 5)
        )
        let message = Array(bytes[4...])
        #expect(throws: FrameError.self) {
            try message.withUnsafeBytes { raw in try FrameHeader.parse(raw, limits: huge) }
        }
    }
}
