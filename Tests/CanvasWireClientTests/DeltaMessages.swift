import CanvasWireCore
import NIOCore

/// Frame and delta messages for the client's tests, written out byte by byte from docs/PROTOCOL.md
/// (section 1.1) rather than with the codec under test.
enum DeltaMessages {
    struct Rect {
        var x, y, w, h: Int
    }

    /// A whole message: the 32-byte v1 header and `payload`.
    static func message(format: UInt8, width: Int, height: Int, sequence: UInt64, payload: [UInt8]) -> ByteBuffer {
        var bytes = Array("CWF1".utf8) + [format, 0, 32, 0]
        bytes += le(UInt64(width), 4) + le(UInt64(height), 4) + le(sequence, 8) + le(1_700_000_000_000_000 + sequence, 8)
        return ByteBuffer(bytes: bytes + payload)
    }

    /// A format-3 message carrying `rects` of `frame`'s pixels.
    static func delta(_ rects: [Rect], of frame: [UInt8], width: Int, height: Int, sequence: UInt64) -> ByteBuffer {
        var payload = le(UInt64(rects.count), 4)
        for rect in rects {
            payload += le(UInt64(rect.x), 2) + le(UInt64(rect.y), 2) + le(UInt64(rect.w), 2) + le(UInt64(rect.h), 2)
            for row in rect.y..<rect.y + rect.h {
                for column in rect.x..<rect.x + rect.w {
                    payload += frame[(row * width + column) * 4..<(row * width + column) * 4 + 4]
                }
            }
        }
        return message(format: 3, width: width, height: height, sequence: sequence, payload: payload)
    }

    /// A frame whose every byte depends on its position and `seed`.
    static func frame(width: Int, height: Int, seed: Int) -> [UInt8] {
        (0..<width * height * 4).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 97 &+ ($0 >> 8)) }
    }

    /// `frame` with the pixels of `rects` taken from `source`, pixel by pixel.
    static func paste(_ rects: [Rect], from source: [UInt8], into frame: [UInt8], width: Int) -> [UInt8] {
        var result = frame
        for rect in rects {
            for row in rect.y..<rect.y + rect.h {
                for column in rect.x..<rect.x + rect.w {
                    let at = (row * width + column) * 4
                    result[at..<at + 4] = source[at..<at + 4]
                }
            }
        }
        return result
    }

    private static func le(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}
