import NIOCore

/// The parser's contract as one call, for the fuzz target in `Sources/Fuzz/NATSParser`: the bytes
/// come from the network, so the operations read must not depend on where the socket cut them, and
/// nothing may exceed the limits.
///
/// SPI, not API: reachable only with `@_spi(Fuzzing) import CanvasWireNATS`.
@_spi(Fuzzing)
public enum NATSParsing {
    private struct Outcome: Equatable {
        var operations: [NATSServerOperation] = []
        var error: String?
    }

    /// Parses `bytes` in one read and again in reads of the sizes in `cuts` (repeated as needed),
    /// and traps when the two differ or an operation breaks the limits.
    public static func check(_ bytes: [UInt8], cuts: [Int], maxPayload: Int, maxControlLine: Int) {
        let whole = parse(bytes, cuts: [max(1, bytes.count)], maxPayload: maxPayload, maxControlLine: maxControlLine)
        let split = parse(bytes, cuts: cuts.map { max(1, $0) }, maxPayload: maxPayload, maxControlLine: maxControlLine)
        precondition(whole == split, "parsing depends on where reads end: \(whole) vs \(split)")
    }

    private static func parse(_ bytes: [UInt8], cuts: [Int], maxPayload: Int, maxControlLine: Int) -> Outcome {
        var parser = NATSProtocolParser(maxControlLineBytes: maxControlLine, maxPayloadBytes: maxPayload)
        var outcome = Outcome()
        var offset = 0
        var cut = 0
        while offset < bytes.count, outcome.error == nil {
            let end = min(bytes.count, offset + cuts[cut % cuts.count])
            var buffer = ByteBuffer(bytes: bytes[offset..<end])
            do {
                while let operation = try parser.next(from: &buffer) {
                    if case .message(let message) = operation {
                        precondition(message.payload.readableBytes <= maxPayload, "a message over max_payload")
                    }
                    outcome.operations.append(operation)
                }
                precondition(buffer.readableBytes == 0, "the parser left bytes of a read unconsumed")
            } catch {
                outcome.error = error.description
            }
            offset = end
            cut += 1
        }
        return outcome
    }
}
