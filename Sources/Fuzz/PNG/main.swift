// libFuzzer entry for the PNG decoder (small limits, so declared sizes are refused before allocation)
// and the PNG stream splitter fed the same bytes in two pieces. Neither may trap or exceed the limits.
import CanvasWireCore
import CanvasWirePNG

private let limits = FrameLimits(maxWidth: 512, maxHeight: 512, maxPayloadBytes: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    if let image = try? PNGDecoder(limits: limits).decode(bytes, source: "fuzz") {
        precondition(image.size.width <= limits.maxWidth && image.size.height <= limits.maxHeight)
        precondition(image.pixels.count == image.size.rgbaByteCount)
    }

    var splitter = PNGStreamSplitter(limits: limits)
    let cut = count == 0 ? 0 : Int(bytes[count - 1]) % (count + 1)
    var files: [[UInt8]] = []
    do throws(PNGError) {
        files += try splitter.append(UnsafeRawBufferPointer(rebasing: bytes[..<cut]))
        files += try splitter.append(UnsafeRawBufferPointer(rebasing: bytes[cut...]))
        try splitter.finish()
    } catch {
        _ = error.description
    }
    precondition(files.reduce(0) { $0 + $1.count } <= count)
    for file in files {
        precondition(file.count <= limits.maxPayloadBytes)
        _ = try? PNGDecoder(limits: limits).decode(file)
    }
    return 0
}
