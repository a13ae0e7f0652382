import CanvasWireClient
import Testing

@Suite struct WebSocketURLTests {
    @Test func parsesSchemeHostPortAndTarget() throws {
        let url = try WebSocketURL("ws://127.0.0.1:8080/streams/demo?policy=all")
        #expect(url.secure == false && url.host == "127.0.0.1" && url.port == 8080)
        #expect(url.target == "/streams/demo?policy=all")
        #expect(url.path == "/streams/demo")
    }

    @Test func defaultsPortsAndPath() throws {
        #expect(try WebSocketURL("wss://example.com").port == 443)
        #expect(try WebSocketURL("wss://example.com").target == "/")
        #expect(try WebSocketURL("ws://example.com?x=1").target == "/?x=1")
        #expect(try WebSocketURL("ws://[::1]:9000/echo").host == "::1")
    }

    @Test(arguments: ["127.0.0.1:8080/x", "ftp://x/", "ws://:80/", "ws://host:port/", "ws://host:70000/"])
    func rejectsWithAReason(text: String) {
        let error = #expect(throws: WebSocketClientError.self) { try WebSocketURL(text) }
        #expect(error?.description.contains(text) == true)
    }

    @Test func settingAQueryItemReplacesAnEarlierValue() throws {
        let url = try WebSocketURL("ws://h/streams/x?policy=latest&token=t").settingQueryItem("policy", to: "all")
        #expect(url.target == "/streams/x?token=t&policy=all")
    }
}
