// libFuzzer entry for the server's own WebSocket frame decoder, which reads untrusted bytes: every
// part it hands on must keep its contract, and cutting the same bytes into different reads must
// give the same frames and the same error.
// Input layout: one byte per read size (1...255) up to the first zero byte, then the byte stream.
@_spi(Fuzzing) import CanvasWireWebSocket

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    let separator = input.firstIndex(of: 0) ?? 0
    let cuts = input[..<separator].map(Int.init)
    // A small limit, so that the "frame too large" path is reachable with small inputs.
    FrameDecoding.check(Array(input[min(input.count, separator + 1)...]), cuts: cuts.isEmpty ? [1] : cuts, maxFrameSize: 300)
    return 0
}
