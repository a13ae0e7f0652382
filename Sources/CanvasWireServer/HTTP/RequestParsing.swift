import CanvasWireCore
import Logging
import NIOHTTP1

/// The server's pre-upgrade request handling (request target, route, stream name, bare-mode size,
/// token and origin checks) as one call, for the fuzz targets under `Sources/Fuzz`.
///
/// It is SPI, not API: reachable only with `@_spi(Fuzzing) import CanvasWireServer`, so the supported
/// public surface stays the server and its configuration. Executables cannot use `@testable import`,
/// and this is the narrowest door that still runs the real code.
@_spi(Fuzzing)
public enum RequestParsing {
    /// A server that requires a token for everyone and allows one extra origin, so every check runs.
    private static let context = ServerContext(
        configuration: ServerConfiguration(
            port: 0, limits: FrameLimits(maxWidth: 4096, maxHeight: 4096, maxPayloadBytes: 64 << 20),
            token: "fuzz-token", tokenRequiredForViewers: true, allowedOrigins: ["http://allowed.example"],
            maxStreams: 16, demoStream: nil
        ),
        logger: Logger(label: "canvaswire.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    )

    /// Routes a request and decides its upgrade exactly as the server would.
    ///
    /// - Parameters:
    ///   - uri: The request target as it appears in the request line.
    ///   - headers: Request headers, in order.
    /// - Returns: A short description of the route and the decision, so callers can compare outcomes.
    public static func evaluate(uri: String, headers: [(String, String)]) -> String {
        let route = Route(RequestTarget(uri))
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers))
        switch UpgradeDecision(server: context).evaluate(head) {
        case .success(let role):
            return "\(route) upgrade \(role.kind)"
        case .failure(let refusal):
            return "\(route) refused \(refusal.status.code)"
        }
    }
}

extension SessionRole {
    fileprivate var kind: String {
        switch self {
        case .publisher(_, let bareSize, _): bareSize.map { "publisher \($0)" } ?? "publisher"
        case .viewer(_, let policy, let encoding): "viewer \(policy) \(encoding)"
        case .echo: "echo"
        }
    }
}
