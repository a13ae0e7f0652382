import CanvasWireCore
import NIOHTTP1

/// An HTTP answer that refuses a request, with the reason in plain words.
struct Refusal: Error, Sendable {
    var status: HTTPResponseStatus
    var reason: String
}

/// Decides, from the request alone, whether a WebSocket upgrade is allowed and what the connection
/// will be. Used before the upgrade and again to explain a refusal to the client.
struct UpgradeDecision {
    let server: ServerContext

    func evaluate(_ head: HTTPRequestHead) -> Result<SessionRole, Refusal> {
        Result { () throws(Refusal) in try role(for: head) }
    }

    private func role(for head: HTTPRequestHead) throws(Refusal) -> SessionRole {
        let configuration = server.configuration
        let target = RequestTarget(head.uri)
        let route = Route(target)
        try checkOrigin(head.headers)
        switch route {
        case .echo:
            guard configuration.echoEnabled else { throw Refusal(status: .notFound, reason: "/echo is disabled on this server") }
            return .echo
        case .publish(let name):
            try checkToken(head.headers, target: target)
            let bareSize = try bareSize(target)
            try checkRoom(for: name)
            return .publisher(name, bareSize: bareSize, run: target.query["run"])
        case .view(let name):
            if configuration.tokenRequiredForViewers { try checkToken(head.headers, target: target) }
            let policyName = target.query["policy"] ?? DeliveryPolicy.latest.rawValue
            guard let policy = DeliveryPolicy(rawValue: policyName) else {
                throw Refusal(status: .badRequest, reason: "policy must be latest or all, not \"\(policyName)\"")
            }
            let encodingName = target.query["encoding"] ?? ViewerEncoding.raw.rawValue
            guard let encoding = ViewerEncoding(rawValue: encodingName) else {
                throw Refusal(status: .badRequest, reason: "encoding must be raw or delta, not \"\(encodingName)\"")
            }
            try checkRoom(for: name)
            return .viewer(name, policy, encoding)
        case .invalidStreamName(let name):
            throw Refusal(
                status: .badRequest,
                reason: "invalid stream name \"\(name)\": use 1 to 64 characters from A-Z a-z 0-9 . _ - (not . or ..)"
            )
        default:
            throw Refusal(status: .notFound, reason: "no WebSocket endpoint at \(target.path)")
        }
    }

    private func checkRoom(for name: StreamName) throws(Refusal) {
        guard server.registry.canServe(name) else {
            throw Refusal(status: .serviceUnavailable, reason: server.tooManyStreams)
        }
    }

    private func bareSize(_ target: RequestTarget) throws(Refusal) -> FrameSize? {
        let width = target.query["width"], height = target.query["height"]
        guard width != nil || height != nil else { return nil }
        guard let width, let height, let size = FrameSize(parsing: "\(width)x\(height)") else {
            throw Refusal(status: .badRequest, reason: "bare mode needs both width and height as positive integers")
        }
        do {
            try server.configuration.limits.check(width: size.width, height: size.height)
        } catch {
            throw Refusal(status: .badRequest, reason: "bare mode size \(size): \(error)")
        }
        return size
    }

    /// Browsers always send `Origin`; other clients usually do not and are not subject to this check.
    private func checkOrigin(_ headers: HTTPHeaders) throws(Refusal) {
        guard let origin = headers.first(name: "origin") else { return }
        let allowed = server.configuration.allowedOrigins
        if allowed.contains("*") || allowed.contains(origin) { return }
        if let host = headers.first(name: "host"), origin == "http://\(host)" || origin == "https://\(host)" {
            return
        }
        throw Refusal(
            status: .forbidden,
            reason: "origin \(origin) is not allowed; start the server with --allow-origin \(origin)"
        )
    }

    private func checkToken(_ headers: HTTPHeaders, target: RequestTarget) throws(Refusal) {
        guard let expected = server.configuration.token else { return }
        let bearer = headers.first(name: "authorization").flatMap { value -> String? in
            value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst("bearer ".count)) : nil
        }
        guard let given = bearer ?? target.query["token"] else {
            throw Refusal(status: .unauthorized, reason: "this server needs a token: send Authorization: Bearer TOKEN or ?token=TOKEN")
        }
        guard Self.constantTimeEqual(given, expected) else {
            throw Refusal(status: .unauthorized, reason: "wrong token")
        }
    }

    /// Compares without an early exit, so response timing does not reveal how much of a guess was right.
    private static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
