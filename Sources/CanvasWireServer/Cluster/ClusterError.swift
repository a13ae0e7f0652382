/// Why the cluster could not do something, with a one-line description that says what to do.
///
/// A struct around a private enum, like the NATS client's errors, so new reasons do not break
/// callers.
public struct ClusterError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case invalidNodeName(String)
        case cannotJoin(String)
        case malformedMessage(String)
        case heldElsewhere(stream: String, node: String)
        case unreachable(stream: String, reason: String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func invalidNodeName(_ name: String) -> Self { .init(.invalidNodeName(name)) }
    static func cannotJoin(_ reason: String) -> Self { .init(.cannotJoin(reason)) }
    static func malformedMessage(_ reason: String) -> Self { .init(.malformedMessage(reason)) }
    static func heldElsewhere(stream: String, node: String) -> Self { .init(.heldElsewhere(stream: stream, node: node)) }
    static func unreachable(stream: String, reason: String) -> Self { .init(.unreachable(stream: stream, reason: reason)) }

    /// The close code a publisher refused for this reason gets: 1008 when another node holds the
    /// stream (a second publisher), 1013 (try again later) when the cluster could not decide.
    var closeCode: UInt16 {
        if case .heldElsewhere = kind { return 1008 }
        return 1013
    }

    /// The close reason for a refused publisher: short enough for a close frame (123 bytes).
    var closeReason: String {
        switch kind {
        case .heldElsewhere(let stream, let node): "stream \"\(stream)\" already has a publisher on node \(node)"
        case .unreachable: "the cluster is unreachable (NATS); try again later"
        default: description
        }
    }

    public var description: String {
        switch kind {
        case .invalidNodeName(let name):
            "node name \"\(name)\" must be 1 to 64 letters, digits, _ or -; pick another with --node-name"
        case .cannotJoin(let reason):
            "cannot join the cluster: \(reason); check the --nats URLs and that nats-server runs with JetStream (-js)"
        case .malformedMessage(let reason):
            "ignored a malformed cluster message (\(reason)); are all nodes running the same canvaswire version?"
        case .heldElsewhere(let stream, let node):
            "stream \"\(stream)\" already has a publisher on node \(node); stop that publisher first"
        case .unreachable(let stream, let reason):
            "could not claim stream \"\(stream)\" in the cluster (\(reason)); try again once NATS is reachable"
        }
    }
}
