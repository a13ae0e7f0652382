// libFuzzer entry for the v1 frame header: FrameHeader.parse on the whole input, then the same bytes fed
// to FrameMessageReader in the splits the input itself chooses, as WebSocket fragments would arrive.
// Invariants: neither traps; a header parse and a reader agree on whether the first 32 bytes are valid;
// a reader that finishes returns a header whose payload length matches what was fed.
import CanvasWireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameReader(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard input.count >= 4 else { return 0 }
    // The first four bytes choose the limits and the split pattern; the rest is the message.
    let limits = FrameLimits(
        maxWidth: input[0] & 1 == 0 ? 64 : Int(UInt32.max) << (input[0] >> 4),
        maxHeight: input[1] & 1 == 0 ? 64 : Int(UInt32.max) << (input[1] >> 4),
        maxPayloadBytes: input[2] & 1 == 0 ? 1 << 16 : Int.max >> (input[2] >> 5)
    )
    let seed = input[3]
    let message = UnsafeRawBufferPointer(rebasing: input[4...])

    let parsed = Result { () throws(FrameError) in try FrameHeader.parse(message, limits: limits) }
    if case .success(let header) = parsed {
        precondition(header.width >= 1 && header.height >= 1 && header.headerLength >= FrameHeader.v1Length)
        precondition(header.width <= limits.maxWidth && header.height <= limits.maxHeight)
        _ = header.v1Bytes
    }

    var reader = FrameMessageReader(limits: limits)
    var offset = 0
    var step = 0
    var failed = false
    while offset < message.count {
        // Split lengths cycle through 0...31 bytes (zero-length fragments included) and larger pieces.
        let choice = Int(seed &+ UInt8(truncatingIfNeeded: step)) % 37
        let length = min(message.count - offset, choice < 32 ? choice : 1 << (choice - 27))
        let fragment = UnsafeRawBufferPointer(rebasing: message[offset..<offset + length])
        do throws(FrameError) {
            _ = try reader.consume(fragment)
        } catch {
            failed = true
            _ = error.description
            _ = error.closeCode
            break
        }
        offset += length
        step += 1
    }
    if !failed, let header = try? reader.finish() {
        precondition(message.count >= header.headerLength)
        if case .success(let whole) = parsed {
            precondition(whole == header, "reader and parse disagree")
        } else {
            preconditionFailure("reader accepted a message whose header parse failed")
        }
    }
    return 0
}
