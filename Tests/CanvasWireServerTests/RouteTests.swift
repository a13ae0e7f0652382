import CanvasWireCore
import Testing

@testable import CanvasWireServer

@Suite struct RouteTests {
    @Test(arguments: [
        ("/", Route.viewerPage),
        ("/?stream=x", .viewerPage),
        ("/send", .senderPage),
        ("/canvaswire.js", .script(.canvasWire)),
        ("/viewer.js?v=2", .script(.viewer)),
        ("/send.js", .script(.sender)),
        ("/other.js", .notFound),
        ("/streams", .streamList),
        ("/healthz", .health),
        ("/metrics", .metrics),
        ("/echo", .echo),
        ("/streams/cam-1", .view(StreamName("cam-1")!)),
        ("/streams/cam-1?policy=all", .view(StreamName("cam-1")!)),
        ("/streams/cam-1/publish?width=2&height=3", .publish(StreamName("cam-1")!)),
        ("/streams/cam-1/latest.png", .latestPNG(StreamName("cam-1")!)),
        ("/streams/bad%20name", .invalidStreamName("bad%20name")),
        ("/streams/a/b", .notFound),
        ("/nothing", .notFound),
    ])
    func routes(uri: String, expected: Route) {
        #expect(Route(RequestTarget(uri)) == expected)
    }

    @Test(arguments: PageScript.allCases)
    func everyPageScriptIsServedUnderItsName(_ script: PageScript) {
        #expect(Route(RequestTarget("/" + script.rawValue)) == .script(script))
        #expect(String(decoding: script.body, as: UTF8.self).hasPrefix("'use strict';\n// "), "\(script.rawValue) is a documented script")
    }

    @Test func queryIsPercentDecoded() {
        let target = RequestTarget("/streams/x?token=a%2Bb%20c&width=10&flag")
        #expect(target.query["token"] == "a+b c")
        #expect(target.query["width"] == "10")
        #expect(target.query["flag"] == "")
    }

    @Test func malformedEscapesStayAsTheyAre() {
        #expect(RequestTarget.percentDecoded("%+1%zz%4") == "% 1%zz%4", "the escape is kept; + is a space as in any query")
        #expect(RequestTarget.percentDecoded("%41%6a") == "Aj")
    }
}
