import NIOCore
import NIOWebSocket

/// The frame decoder's contract as one call, for the fuzz target in `Sources/Fuzz/FrameDecoder`:
/// the server frames untrusted bytes itself (see ``IncrementalFrameDecoder``), so its parser must
/// give the same frames however the socket happens to cut the stream.
///
/// SPI, not API, like ``RequestParsing``: reachable only with `@_spi(Fuzzing) import CanvasWireWebSocket`.
@_spi(Fuzzing)
public enum FrameDecoding {
    /// A frame put back together from the parts the parser handed on.
    private struct Decoded: Equatable {
        var header: IncomingFrameHeader
        var payload: [UInt8]
    }

    private struct Outcome: Equatable {
        var frames: [Decoded] = []
        /// A data frame that had started when the input ended, with the payload received so far.
        var unfinished: Decoded?
        var error: IncomingFrameError?
    }

    /// Decodes `bytes` in one read and again in reads of the sizes in `cuts` (repeated as needed),
    /// and traps when the parts break the decoder's contract or the two decodings differ.
    public static func check(_ bytes: [UInt8], cuts: [Int], maxFrameSize: Int) {
        let whole = decode(bytes, cuts: [max(1, bytes.count)], maxFrameSize: maxFrameSize)
        let split = decode(bytes, cuts: cuts.map { max(1, $0) }, maxFrameSize: maxFrameSize)
        precondition(whole == split, "decoding depends on where reads end: \(whole) vs \(split)")
    }

    private static func decode(_ bytes: [UInt8], cuts: [Int], maxFrameSize: Int) -> Outcome {
        var parser = IncomingFrameParser(maxFrameSize: maxFrameSize)
        var outcome = Outcome()
        var offset = 0
        var cut = 0
        while offset < bytes.count, outcome.error == nil {
            let end = min(bytes.count, offset + cuts[cut % cuts.count])
            var buffer = ByteBuffer(bytes: bytes[offset..<end])
            do {
                try parser.parse(&buffer) { part in record(part, into: &outcome, maxFrameSize: maxFrameSize) }
                precondition(buffer.readableBytes == 0, "the parser left bytes of a read unconsumed")
            } catch {
                outcome.error = error
            }
            offset = end
            cut += 1
        }
        if outcome.error != nil { outcome.unfinished = nil }  // where the error struck is the only state
        return outcome
    }

    private static func record(_ part: IncomingFramePart, into outcome: inout Outcome, maxFrameSize: Int) {
        switch part {
        case .control(let frame):
            precondition(frame.fin && frame.data.readableBytes <= 125, "control frame broke RFC 6455 5.5")
            let header = IncomingFrameHeader(
                fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3,
                opcode: frame.opcode, maskKey: frame.maskKey, length: frame.data.readableBytes
            )
            outcome.frames.append(Decoded(header: header, payload: Array(frame.data.readableBytesView)))
        case .dataFrame(let header):
            precondition(!header.isControl && header.length <= maxFrameSize, "data frame header out of bounds")
            precondition(outcome.unfinished == nil, "a frame started before the previous one ended")
            outcome.unfinished = Decoded(header: header, payload: [])
        case .payload(let slice, let maskOffset, let endsFrame):
            guard var frame = outcome.unfinished else { preconditionFailure("payload without a data frame") }
            precondition(maskOffset == frame.payload.count, "payload pieces out of order")
            frame.payload += slice.readableBytesView
            precondition(frame.payload.count <= frame.header.length, "more payload than the header announced")
            precondition(endsFrame == (frame.payload.count == frame.header.length), "frame end misreported")
            if endsFrame {
                outcome.frames.append(frame)
                outcome.unfinished = nil
            } else {
                outcome.unfinished = frame
            }
        }
    }
}
