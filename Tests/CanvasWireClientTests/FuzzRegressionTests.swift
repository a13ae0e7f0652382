import CanvasWireClient
import Foundation
import Testing

/// Inputs the fuzz targets (`tools/fuzz`) failed on, replayed from `Tests/Fuzz/regressions/`.
@Suite struct FuzzRegressionTests {
    static let regressions = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/regressions")

    /// fuzz-request: `https://::1]:8443/...` was accepted with the host `::1]`, and written back as
    /// `[::1]]:8443`, which does not parse. Unbracketed IPv6 hosts and stray brackets are now refused.
    @Test func hostsWithColonsOrStrayBracketsAreRefused() throws {
        let input = try Data(contentsOf: Self.regressions.appendingPathComponent("request/unbracketed-ipv6-host"))
        let uri = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)[0]
        #expect(throws: WebSocketClientError.self) { try WebSocketURL(String(uri)) }
        // The second input: wss://[\u{FFFD}5[1]/... took a bracketed host that is not IPv6, written
        // back without brackets.
        let second = try Data(contentsOf: Self.regressions.appendingPathComponent("request/bracketed-non-ipv6-host"))
        #expect(throws: WebSocketClientError.self) { try WebSocketURL(String(decoding: second, as: UTF8.self)) }
        for text in ["ws://::1]:8443/", "ws://a:b:80/", "ws://[::1]x:80/", "ws://host]/", "ws://[host]:80/"] {
            #expect(throws: WebSocketClientError.self) { try WebSocketURL(text) }
        }
        let bracketed = try WebSocketURL("wss://[::1]:8443/streams/cam")
        #expect(bracketed.host == "::1" && bracketed.port == 8443)
        #expect(try WebSocketURL(bracketed.description) == bracketed)
    }
}
