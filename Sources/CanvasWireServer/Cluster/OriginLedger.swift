/// The origin's book of the nodes that watch one of its streams: which of them are lossless, how
/// far each has received and granted, and the items a lossless node may still ask to be resent.
///
/// Items are numbered 1, 2, 3... within an epoch (the life of one bridge), frames and controls
/// alike; a frame the origin drops for `latest`-only interest gets no number, so a missing number
/// on a receiving node always means a message lost between nodes.
///
/// Credit: a lossless node grants item numbers up to `grant` (what it received plus a window);
/// nothing beyond the smallest grant of any lossless node is published, which is how a stalled
/// viewer on another node pauses the publisher here. Items are kept until every lossless node has
/// received them, so what the window lets through is also what can be resent: memory stays within
/// the window. Pure, so every rule is tested without a server.
struct OriginLedger<Item> {
    /// One watching node.
    struct Node: Equatable {
        var lossless: Bool
        /// The last item it has received, as far as this side knows.
        var received: UInt64
        /// The last item it lets this side publish (lossless nodes only).
        var grant: UInt64
        var lastHeard: ContinuousClock.Instant
    }

    /// What a node told the origin (a ``MirrorReport``), in the ledger's terms.
    struct Report {
        var node: String
        var lossless: Bool
        /// Where the node stands in *this* epoch; `nil` when it has not been welcomed to it.
        var position: (received: UInt64, grant: UInt64)?
        /// The window it would grant from a fresh start.
        var window: UInt64
        /// It saw a gap and asks for every item from this number on.
        var resendFrom: UInt64?
        /// It asks for a new welcome whatever its position.
        var refresh = false
    }

    /// What the origin must send the node in answer.
    enum Answer {
        case none
        /// Where the stream stands and its latest frame: the node starts again after the last item.
        case welcome
        /// These items again, to that node alone, in order.
        case resend([(number: UInt64, item: Item)])
    }

    let nodeTimeout: Duration
    private(set) var nodes: [String: Node] = [:]
    /// The number of the last item published in this epoch; 0 before the first.
    private(set) var lastNumber: UInt64 = 0
    private var retained: [(number: UInt64, item: Item)] = []

    init(nodeTimeout: Duration) {
        self.nodeTimeout = nodeTimeout
    }

    var hasLosslessNodes: Bool { nodes.values.contains { $0.lossless } }

    /// Items kept for resending.
    var retainedCount: Int { retained.count }

    /// Whether the next item may be published: every lossless node has granted it.
    var mayPublish: Bool {
        nodes.values.allSatisfy { !$0.lossless || $0.grant > lastNumber }
    }

    /// Numbers a published item, and keeps it while a lossless node may still need it.
    mutating func published(_ item: Item) -> UInt64 {
        lastNumber += 1
        if hasLosslessNodes { retained.append((lastNumber, item)) }
        return lastNumber
    }

    /// Takes a node's report and says what to answer.
    mutating func heard(_ report: Report, now: ContinuousClock.Instant) -> Answer {
        guard !report.refresh, let position = report.position else {
            return register(report, now: now)
        }
        // A node this side had forgotten (it was silent too long) but that still follows this epoch
        // takes up where it says it is: items published since are on their way to it or, if it lost
        // them, it sees the gap and asks for them like any node.
        let received = min(position.received, lastNumber)
        if let from = report.resendFrom {
            guard let items = retained(from: from) else { return register(report, now: now) }
            nodes[report.node] = Node(lossless: report.lossless, received: from - 1, grant: position.grant, lastHeard: now)
            trim()
            return .resend(items)
        }
        nodes[report.node] = Node(lossless: report.lossless, received: received, grant: position.grant, lastHeard: now)
        trim()
        return .none
    }

    /// Forgets a node that said goodbye.
    mutating func remove(node: String) {
        nodes[node] = nil
        trim()
    }

    /// Forgets the nodes not heard from for the node timeout, so that a node that died stops
    /// holding the publisher back; returns their names.
    mutating func expire(now: ContinuousClock.Instant) -> [String] {
        let gone = nodes.filter { now - $0.value.lastHeard > nodeTimeout }.map(\.key)
        for node in gone { nodes[node] = nil }
        if !gone.isEmpty { trim() }
        return gone.sorted()
    }

    /// Starts the node afresh after the last item: it gets a welcome.
    private mutating func register(_ report: Report, now: ContinuousClock.Instant) -> Answer {
        nodes[report.node] = Node(
            lossless: report.lossless, received: lastNumber, grant: lastNumber + report.window, lastHeard: now
        )
        trim()
        return .welcome
    }

    /// The items from `from` to the last, or `nil` when some of them are no longer kept.
    private func retained(from: UInt64) -> [(number: UInt64, item: Item)]? {
        guard from <= lastNumber else { return [] }
        guard let first = retained.first, first.number <= from else { return nil }
        return Array(retained[Int(from - first.number)...])
    }

    /// Lets go of what every lossless node has received.
    private mutating func trim() {
        let lossless = nodes.values.filter(\.lossless)
        guard let oldestNeeded = lossless.map(\.received).min() else {
            retained.removeAll()
            return
        }
        retained.removeAll { $0.number <= oldestNeeded }
    }
}
