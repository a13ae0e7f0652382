import CanvasWireCore
import CanvasWireNATS
import CoreMetrics
import Logging
import NIOCore

/// A stream's link to the cluster on a node that has viewers of it but not its publisher: the
/// publisher of the local stream, fed from NATS, so the local fan-out, policies, runs, late joiners
/// and `latest.png` work exactly as for a local publisher.
///
/// It subscribes to the stream while the node has viewers, puts chunks back together (an item a
/// chunk of which went missing is dropped, never delivered), and follows the origin's numbering
/// (``MirrorSequence``). With lossless viewers it grants the origin credit while none of them is
/// stalled (``CreditWindow``) and fills gaps by asking for resends; a gap that cannot be filled
/// closes them with 1011 rather than skipping a frame.
///
/// Confined to the cluster's event loop; `@unchecked Sendable` for the stream's notices, which hop
/// onto it.
final class MirrorFeed: RelayPublisher, @unchecked Sendable {
    let counters: ConnectionCounters
    let name: StreamName
    /// The local stream the feed publishes into.
    let stream: RelayStream
    private let cluster: ClusterContext
    private var subscriptions: [NATSSubscription] = []
    private var sequence = MirrorSequence()
    private var credit: CreditWindow
    private var items = ItemReassembler()
    private var snapshots = ItemReassembler()
    private let allocator = ByteBufferAllocator()
    /// Lossless viewers, closed when a gap cannot be filled.
    private var losslessViewers: [ObjectIdentifier: ViewerSession] = [:]
    /// Whether the node has lossless viewers of the stream: the origin keeps every item for it.
    private var lossless: Bool { !losslessViewers.isEmpty }
    /// The run of the origin's publisher while it is connected; the feed is then the local publisher.
    private var attachedRun: String?
    /// Set when an origin that had let this node go (a new epoch: the node fell silent, or the stream
    /// moved to another node) welcomes it again while it has lossless viewers. Frames published in
    /// between never reached this node and cannot be resent; whether there were any is known when the
    /// origin's latest frame arrives: the same as the one here, nothing was published meanwhile.
    private var latestFrameDecidesGap = false
    /// The snapshot announced by the last welcome, until it has arrived.
    private var expectedSnapshot: (epoch: UInt64, number: UInt64, run: String?)?
    private var lastHeardFromOrigin: ContinuousClock.Instant?
    private var gapSince: ContinuousClock.Instant?
    private var lastResendRequest: ContinuousClock.Instant?
    private var lastWelcomeRequest: ContinuousClock.Instant?

    init(stream: RelayStream, cluster: ClusterContext) {
        self.stream = stream
        self.name = stream.name
        self.cluster = cluster
        self.counters = cluster.makeCounters()
        self.credit = CreditWindow(bytes: cluster.configuration.creditBytes)
    }

    // MARK: Lifecycle, on the loop

    /// Subscribes to the stream and asks its origin, whichever node that is, for a welcome.
    func start() {
        for subject in [cluster.subjects.data(name), cluster.subjects.inbox(node: cluster.nodeName, name)] {
            if let subscription = try? cluster.nats.subscribe(to: subject, handler: { [weak self] in self?.handle($0) }) {
                subscriptions.append(subscription)
            }
        }
        let census = try? cluster.nats.subscribe(to: cluster.subjects.watchers(name)) { [weak self] message in
            guard let self, let replyTo = message.replyTo else { return }
            self.report(.interest, to: replyTo)
        }
        subscriptions += census.map { [$0] } ?? []
        report(.interest)
    }

    /// The node has no viewers of the stream any more, or now holds it itself.
    func stop() {
        subscriptions.forEach { $0.unsubscribe() }
        subscriptions = []
        report(.bye)
        detachFromStream()
        losslessViewers = [:]
    }

    /// A local viewer joined or left; lossless ones are the feed's to close at a gap.
    func viewersChanged(lossless viewers: [ObjectIdentifier: ViewerSession]) {
        let wasLossless = lossless
        losslessViewers = viewers
        guard lossless != wasLossless else { return }
        if lossless, sequence.epoch != nil { credit.restart(anchor: sequence.last, window: credit.items) }
        report(.interest)
    }

    /// The heartbeat: tell the origin this node still watches (with its credit), notice an origin
    /// gone silent, and chase or give up a gap.
    func tick(now: ContinuousClock.Instant) {
        let timeout = cluster.configuration.nodeTimeout
        if attachedRun != nil, let heard = lastHeardFromOrigin, now - heard > timeout {
            cluster.logger.warning("the stream's origin went silent; its viewers here are told the publisher left", metadata: ["stream": "\(name)"])
            detachFromStream()
        }
        if let since = gapSince {
            if now - since > timeout {
                closeLosslessViewers("frames were lost between nodes and could not be resent")
                report(.refresh)
            } else if let asked = lastResendRequest, now - asked >= cluster.configuration.heartbeatInterval, let from = sequence.awaitingFrom {
                report(.resend, from: from)
            }
        }
        report(.interest, forceGrant: true)
    }

    /// NATS is back: what was half received is lost, and the origin may have missed this node's reports.
    func reconnected() {
        items.reset()
        snapshots.reset()
        report(.interest, forceGrant: true)
    }

    // MARK: RelayPublisher

    func readingConditionChanged() {
        cluster.loop.execute { self.grantIfDue() }
    }

    // MARK: Messages from the origin

    private func handle(_ message: NATSMessage) {
        var body = message.payload
        let envelope: ClusterEnvelope
        do {
            envelope = try ClusterEnvelope.read(from: &body)
        } catch {
            return cluster.logger.notice("\(error)", metadata: ["stream": "\(name)"])
        }
        if envelope.epoch == sequence.epoch { lastHeardFromOrigin = .now }
        switch envelope.kind {
        case .frameChunk, .control:
            let incomplete = items.incompleteItems
            if let item = items.accept(envelope, body: body, allocator: allocator) {
                received(item)
            }
            if items.incompleteItems > incomplete {
                cluster.metrics.incompleteFrames.increment(by: Int64(items.incompleteItems - incomplete))
            }
        case .beat:
            if let decision = sequence.beat(epoch: envelope.epoch, lastPublished: envelope.number, holdGaps: lossless) {
                act(on: decision)
            }
        case .welcome:
            do {
                welcomed(try ClusterJSON.decode(OriginWelcome.self, from: body), epoch: envelope.epoch, anchor: envelope.number)
            } catch {
                cluster.logger.notice("\(error)", metadata: ["stream": "\(name)"])
            }
        case .snapshotChunk:
            if let item = snapshots.accept(envelope, body: body, allocator: allocator) {
                receivedSnapshot(item)
            }
        }
    }

    private func received(_ item: ItemReassembler.Item) {
        let decision = sequence.accept(epoch: item.epoch, number: item.number, holdGaps: lossless)
        switch decision {
        case .deliver, .deliverAfterGap:
            apply(item)
            gapSince = nil
        default:
            break
        }
        act(on: decision)
        grantIfDue()
    }

    private func act(on decision: MirrorSequence.Decision) {
        switch decision {
        case .deliver, .holding, .duplicate:
            break
        case .deliverAfterGap:
            cluster.metrics.gaps.increment()
            report(.refresh)
        case .gap(let from):
            cluster.metrics.gaps.increment()
            gapSince = .now
            report(.resend, from: from)
        case .foreignEpoch:
            // Another origin (or this one after a restart of its bridge): ask it for a welcome, at
            // most a few times a second however many of its messages arrive meanwhile.
            if lastWelcomeRequest.map({ .now - $0 > .milliseconds(250) }) ?? true {
                lastWelcomeRequest = .now
                report(.interest)
            }
        }
    }

    private func apply(_ item: ItemReassembler.Item) {
        switch item.kind {
        case .frameChunk:
            guard let frame = frame(from: item.body) else { return }
            if latestFrameDecidesGap {
                // A newer frame before the origin's latest: that one was lost on the way, and with it
                // the only way to know whether lossless viewers missed frames.
                latestFrameDecidesGap = false
                closeLosslessViewers("frames may have been lost between nodes")
            }
            credit.noteFrame(bytes: frame.message.readableBytes)
            cluster.metrics.framesReceived.increment()
            counters.countSentFrame()
            stream.publish(frame)
        case .control:
            do {
                switch try ControlMessage(parsing: String(buffer: item.body)) {
                case .publisher(let state): follow(state)
                case .end(let end): stream.end(lastSequence: end.lastSequence)
                default: break
                }
            } catch {
                cluster.logger.notice("ignored a control message from the origin: \(error)", metadata: ["stream": "\(name)"])
            }
        default:
            break
        }
    }

    /// A frame message checked as a publisher's would be: a node only relays what it would accept.
    private func frame(from message: ByteBuffer) -> Frame? {
        do {
            return try Frame(validating: message, limits: cluster.limits)
        } catch {
            cluster.logger.notice("dropped a frame from the origin: \(error)", metadata: ["stream": "\(name)"])
            return nil
        }
    }

    private func welcomed(_ welcome: OriginWelcome, epoch: UInt64, anchor: UInt64) {
        let previousEpoch = sequence.epoch
        let continuous = sequence.welcome(epoch: epoch, anchor: anchor)
        lastHeardFromOrigin = .now
        gapSince = nil
        latestFrameDecidesGap = false
        if lossless, let previousEpoch {
            if previousEpoch == epoch, !continuous {
                closeLosslessViewers("frames were lost between nodes and could not be resent")
            } else if previousEpoch != epoch, welcome.snapshotBytes != nil {
                latestFrameDecidesGap = true
            }
        }
        credit.restart(anchor: anchor, window: credit.items)
        follow(welcome.publisher)
        expectedSnapshot = welcome.snapshotBytes == nil ? nil : (epoch, anchor, welcome.snapshotRun)
        cluster.logger.debug("welcomed by the stream's origin", metadata: ["stream": "\(name)", "origin": "\(welcome.node)", "anchor": "\(anchor)"])
        grantIfDue(force: true)
    }

    private func receivedSnapshot(_ item: ItemReassembler.Item) {
        guard let expected = expectedSnapshot, expected.epoch == item.epoch, expected.number == item.number else { return }
        expectedSnapshot = nil
        guard let frame = frame(from: item.body) else { return }
        credit.noteFrame(bytes: frame.message.readableBytes)
        let alreadyHere = stream.latestFrame?.header == frame.header
        if latestFrameDecidesGap {
            latestFrameDecidesGap = false
            if !alreadyHere { closeLosslessViewers("frames published while this node could not follow the stream were lost between nodes") }
        }
        if alreadyHere { return }
        if let run = expected.run, run == attachedRun {
            counters.countSentFrame()
            stream.publish(frame)
        } else {
            // From a run that is over: kept for late viewers and latest.png, not sent as news.
            stream.adoptLatest(frame, run: expected.run)
        }
    }

    /// Matches the local stream's publisher to the origin's.
    private func follow(_ state: ControlMessage.PublisherState) {
        if state.connected, let run = state.run {
            if attachedRun == run { return }
            detachFromStream()
            guard stream.attach(publisher: self, continuing: run, runID: run) != nil else {
                return cluster.logger.error("a local publisher holds a stream another node holds", metadata: ["stream": "\(name)"])
            }
            attachedRun = run
        } else {
            detachFromStream()
        }
    }

    private func detachFromStream() {
        guard attachedRun != nil else { return }
        attachedRun = nil
        stream.detach(publisher: self)
    }

    private func closeLosslessViewers(_ reason: String) {
        gapSince = nil
        guard !losslessViewers.isEmpty else { return }
        cluster.logger.warning("closing lossless viewers: \(reason)", metadata: ["stream": "\(name)", "viewers": "\(losslessViewers.count)"])
        cluster.metrics.losslessViewersClosed.increment(by: Int64(losslessViewers.count))
        for viewer in losslessViewers.values { viewer.disconnect(code: 1011, reason: reason) }
    }

    // MARK: Reports to the origin

    private func grantIfDue(force: Bool = false) {
        guard lossless, sequence.epoch != nil else { return }
        if credit.grant(received: sequence.last, mayRead: stream.publisherMayRead, force: force) != nil {
            report(.interest)
        }
    }

    private func report(_ kind: MirrorReport.Kind, from: UInt64? = nil, forceGrant: Bool = false, to subject: String? = nil) {
        if forceGrant, lossless, sequence.epoch != nil {
            _ = credit.grant(received: sequence.last, mayRead: stream.publisherMayRead, force: true)
        }
        if kind == .resend { lastResendRequest = .now }
        let followed = sequence.epoch != nil
        let report = MirrorReport(
            kind: kind, node: cluster.nodeName, lossless: lossless, epoch: sequence.epoch,
            received: followed ? sequence.last : nil, grant: followed ? credit.granted : nil,
            window: credit.items, from: from
        )
        guard cluster.nats.isConnected else { return }
        try? cluster.nats.publish(ClusterJSON.encode(report), to: subject ?? cluster.subjects.upstream(name))
    }
}
