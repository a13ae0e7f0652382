// libFuzzer entry for RGBA8 delta payloads (pixel format 3), differential against a pixel-by-pixel model.
// Input layout: byte 0 and byte 1 choose the frame's width and height (1...16 each), the rest is the payload.
// Invariants: nothing traps; DeltaDecoder accepts exactly what the model accepts; an accepted payload
// applied to a frame equals the model's result, and its rectangles written back from that frame give
// the same bytes; the same decoder judges the same payload the same way twice (its coverage bitmap is
// left clean after a refusal).
import CanvasWireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDelta(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard input.count >= 2 else { return 0 }
    let size = FrameSize(width: Int(input[0] % 16) + 1, height: Int(input[1] % 16) + 1)
    let payload = UnsafeRawBufferPointer(rebasing: input[2...])
    let frame = (0..<size.rgbaByteCount).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let expected = model(payload, frame: frame, size: size)

    guard var decoder = try? DeltaDecoder(frameSize: size) else { preconditionFailure("a 16x16 frame is addressable") }
    let first = Result { () throws(FrameError) in try decoder.validate(payload) }
    let second = Result { () throws(FrameError) in try decoder.validate(payload) }
    switch (first, second) {
    case (.success(let a), .success(let b)): precondition(a == b, "two validations count differently")
    case (.failure(let a), .failure(let b)): precondition(a == b, "two validations fail differently: \(a) / \(b)")
    default: preconditionFailure("the second validation of the same payload disagrees with the first")
    }

    switch (first, expected) {
    case (.failure(let error), nil):
        _ = error.description
        precondition(error.closeCode == 1008, "a malformed delta within the limits closes with 1008: \(error)")
    case (.failure(let error), .some):
        preconditionFailure("refused a payload the model accepts: \(error)")
    case (.success, nil):
        preconditionFailure("accepted a payload the model refuses")
    case (.success(let rectangleCount), .some(let (result, rectangles))):
        var applied = frame
        applied.withUnsafeMutableBytes { decoder.apply(payload, to: $0) }
        precondition(applied == result, "apply differs from the model")
        precondition(rectangleCount == rectangles.count)
        guard let layout = try? DeltaLayout(rectangles: rectangles, frameSize: size) else {
            preconditionFailure("the accepted rectangles cannot be laid out again")
        }
        precondition(layout.encodedLength == payload.count)
        var written = [UInt8](repeating: 0, count: layout.encodedLength)
        applied.withUnsafeBytes { source in written.withUnsafeMutableBytes { layout.write(from: source, into: $0) } }
        precondition(written.elementsEqual(payload), "re-encoding the applied frame gives other bytes")
    }
    return 0
}

/// The delta format read pixel by pixel: the new frame and the rectangles, or nil for a payload that
/// breaks any rule. Shares no code with CanvasWireCore.
func model(_ payload: UnsafeRawBufferPointer, frame: [UInt8], size: FrameSize) -> ([UInt8], [DeltaRectangle])? {
    let bytes = Array(payload)
    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    guard bytes.count >= 4 else { return nil }
    let count = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    var result = frame
    var covered = [Bool](repeating: false, count: size.width * size.height)
    var rectangles: [DeltaRectangle] = []
    var at = 4
    var index = 0
    while index < count {
        guard at + 8 <= bytes.count else { return nil }
        let x = u16(at), y = u16(at + 2), w = u16(at + 4), h = u16(at + 6)
        at += 8
        guard w >= 1, h >= 1, x + w <= size.width, y + h <= size.height, at + w * h * 4 <= bytes.count else { return nil }
        for row in y..<y + h {
            for column in x..<x + w {
                let pixel = row * size.width + column
                guard !covered[pixel] else { return nil }
                covered[pixel] = true
                for channel in 0..<4 { result[pixel * 4 + channel] = bytes[at + channel] }
                at += 4
            }
        }
        rectangles.append(DeltaRectangle(x: x, y: y, width: w, height: h))
        index += 1
    }
    return at == bytes.count ? (result, rectangles) : nil
}
