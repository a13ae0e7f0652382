@testable import CanvasWireWebSocket
import Testing

@Suite struct WebSocketMaskingTests {
    /// The definition in RFC 6455 5.3, byte by byte.
    func reference(_ bytes: [UInt8], key: [UInt8]) -> [UInt8] {
        bytes.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    @Test(arguments: [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 1000, 4099])
    func matchesTheRFCDefinitionForEveryLength(count: Int) {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var output = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                WebSocketMasking.copy(from: source, to: destination, key: (key[0], key[1], key[2], key[3]))
            }
        }
        #expect(output == reference(bytes, key: key))
        var inPlace = bytes
        inPlace.withUnsafeMutableBytes { WebSocketMasking.apply(key: (key[0], key[1], key[2], key[3]), to: $0) }
        #expect(inPlace == output)
    }

    @Test func rfcExampleUnmasksToHello() {
        // RFC 6455 5.7: a masked "Hello" from a client.
        let masked: [UInt8] = [0x7F, 0x9F, 0x4D, 0x51, 0x58]
        var bytes = masked
        bytes.withUnsafeMutableBytes { WebSocketMasking.apply(key: (0x37, 0xFA, 0x21, 0x3D), to: $0) }
        #expect(String(decoding: bytes, as: UTF8.self) == "Hello")
    }
}
