import CanvasWireCore

/// What the server serves at a path.
enum Route: Equatable, Sendable {
    case viewerPage
    case senderPage
    /// A script the pages load, at `/NAME.js`.
    case script(PageScript)
    case streamList
    case latestPNG(StreamName)
    case health
    case metrics
    case publish(StreamName)
    case view(StreamName)
    case echo
    case invalidStreamName(String)
    case notFound

    init(_ target: RequestTarget) {
        let segments = target.segments
        switch segments.count {
        case 0:
            self = .viewerPage
        case 1:
            switch segments[0] {
            case "send": self = .senderPage
            case "streams": self = .streamList
            case "healthz": self = .health
            case "metrics": self = .metrics
            case "echo": self = .echo
            case "index.html": self = .viewerPage
            default: self = PageScript(rawValue: String(segments[0])).map(Route.script) ?? .notFound
            }
        case 2, 3:
            guard segments[0] == "streams" else {
                self = .notFound
                return
            }
            guard let name = StreamName(RequestTarget.percentDecoded(segments[1])) else {
                self = .invalidStreamName(String(segments[1]))
                return
            }
            if segments.count == 2 {
                self = .view(name)
            } else if segments[2] == "publish" {
                self = .publish(name)
            } else if segments[2] == "latest.png" {
                self = .latestPNG(name)
            } else {
                self = .notFound
            }
        default:
            self = .notFound
        }
    }

    /// A `/streams/...` path whose name is not a valid stream name; explained like a refused upgrade.
    var isInvalidStreamName: Bool {
        if case .invalidStreamName = self { true } else { false }
    }

    var isWebSocket: Bool {
        switch self {
        case .publish, .view, .echo: true
        default: false
        }
    }
}
