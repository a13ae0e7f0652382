// libFuzzer entry for what a peer controls before a WebSocket upgrade: the request target (path, query,
// percent escapes), the stream name, the bare-mode size, the token and Origin checks, through the
// server's own decision; and the client's WebSocketURL parser on the same text.
// Input layout: URI, then header lines "name: value", separated by newlines.
import CanvasWireClient
@_spi(Fuzzing) import CanvasWireServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let uri = String(lines.removeFirst())
    let headers = lines.compactMap { line -> (String, String)? in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
    }
    _ = RequestParsing.evaluate(uri: uri, headers: headers)

    if let url = try? WebSocketURL(uri) {
        precondition((1...65535).contains(url.port) && !url.host.isEmpty)
        precondition(url.target.hasPrefix("/"))
        let reparsed = try? WebSocketURL(url.description)
        precondition(reparsed?.port == url.port, "\(url) does not reparse")
        _ = url.settingQueryItem("policy", to: "all").path
    }
    return 0
}
