// libFuzzer entry for the NATS client's protocol parser, which reads what the network delivers:
// cutting the same bytes into different reads must give the same operations and the same error, and
// no message may exceed max_payload.
// Input layout: one byte per read size (1...255) up to the first zero byte, then the byte stream.
@_spi(Fuzzing) import CanvasWireNATS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNATSParser(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    let separator = input.firstIndex(of: 0) ?? 0
    let cuts = input[..<separator].map(Int.init)
    // Small limits, so that the "line too long" and "payload too large" paths are reachable.
    NATSParsing.check(
        Array(input[min(input.count, separator + 1)...]), cuts: cuts.isEmpty ? [1] : cuts,
        maxPayload: 300, maxControlLine: 120
    )
    return 0
}
