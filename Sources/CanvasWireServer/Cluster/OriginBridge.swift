import CanvasWireCore
import CanvasWireNATS
import CoreMetrics
import Logging
import NIOCore
import Synchronization

/// A stream's link to the cluster on the node that holds it: one more viewer of the local stream,
/// attached while some other node watches, that publishes each frame once to NATS for all of them.
///
/// It never lets its NATS connection fall behind: above the connection's high-water mark it keeps
/// only the newest frame while every watching node is `latest`-only (whole frames are dropped and
/// counted), and with a lossless node it stalls the stream exactly as a local lossless viewer above
/// its high-water mark does, which stops reading the publisher. It also stalls when a lossless node
/// has not granted the next item (see ``OriginLedger``).
///
/// Exists while this node owns the stream's claim; confined to the cluster's event loop, and
/// `@unchecked Sendable` for the deliveries the publisher's loop makes, which hop onto it.
final class OriginBridge: RelayViewer, @unchecked Sendable {
    /// What the bridge publishes, in order.
    enum Item {
        case frame(Frame)
        case control(ControlMessage)
    }

    let counters: ConnectionCounters
    /// Frames cross nodes whole: each node makes deltas and compressed copies for its own viewers.
    let encoding = ViewerEncoding.raw
    let name: StreamName
    private let cluster: ClusterContext
    private let lossless = Atomic<Bool>(false)
    private var subscription: NATSSubscription?
    /// The local stream while the bridge is attached to it, that is while some node watches.
    private var stream: RelayStream?
    private var epoch: UInt64 = 0
    private var ledger: OriginLedger<Item>
    /// Items delivered and not yet published: waiting for credit, for the socket, or for NATS.
    private var queue = CircularBuffer<Item>()
    private var stalled = false
    private var awaitingDrain = false
    private var publisherState = ControlMessage.PublisherState(connected: false)
    private var lastPublished: (frame: Frame, run: String?)?
    private var lastDelivered: (frame: Frame, run: String?)?

    init(name: StreamName, cluster: ClusterContext) {
        self.name = name
        self.cluster = cluster
        self.counters = cluster.makeCounters()
        self.ledger = OriginLedger(nodeTimeout: cluster.configuration.nodeTimeout)
    }

    /// `all` while some watching node has lossless viewers, as `GET /streams` shows it.
    var policy: DeliveryPolicy { lossless.load(ordering: .relaxed) ? .all : .latest }

    // MARK: Lifecycle, on the loop

    /// Listens for the nodes that watch the stream.
    func start() {
        subscription = try? cluster.nats.subscribe(to: cluster.subjects.upstream(name)) { [weak self] message in
            self?.handle(message)
        }
    }

    /// This node no longer holds the stream: let every watching node go.
    func stop() {
        subscription?.unsubscribe()
        subscription = nil
        detach()
    }

    /// The heartbeat: forget silent nodes, tell the others this side is alive, retry what waits.
    func tick(now: ContinuousClock.Instant) {
        guard stream != nil else { return }
        let gone = ledger.expire(now: now)
        if !gone.isEmpty {
            cluster.logger.notice("nodes stopped watching (silent)", metadata: ["stream": "\(name)", "nodes": "\(gone)"])
        }
        guard !ledger.nodes.isEmpty else { return detach() }
        cluster.send(ByteBuffer(), kind: .beat, epoch: epoch, number: ledger.lastNumber, to: cluster.subjects.data(name))
        pump()
    }

    /// NATS is back: publish what waited.
    func reconnected() {
        pump()
    }

    // MARK: RelayViewer, from the publisher's loop

    func deliver(_ frame: Frame) {
        cluster.loop.execute { self.received(frame) }
    }

    func deliver(_ message: ControlMessage) {
        cluster.loop.execute { self.received(message) }
    }

    private func received(_ frame: Frame) {
        guard stream != nil else { return }
        lastDelivered = (frame, publisherState.run)
        if !ledger.hasLosslessNodes, let last = queue.last, case .frame = last {
            // Only the newest frame is worth sending to live viewers.
            queue.removeLast()
            countDropped()
        }
        queue.append(.frame(frame))
        pump()
    }

    private func received(_ message: ControlMessage) {
        guard stream != nil else { return }
        switch message {
        case .publisher(let state):
            publisherState = state
        case .end:
            publisherState.runState = .ended
        default:
            return
        }
        queue.append(.control(message))
        pump()
    }

    private func countDropped() {
        counters.droppedFrames += 1
        cluster.metrics.framesDropped.increment()
    }

    // MARK: Publishing

    /// Publishes what may go now, and stalls or releases the stream to match what is left.
    private func pump() {
        while let item = queue.first {
            guard cluster.nats.isConnected else { break }
            guard cluster.nats.pendingOutboundBytes <= cluster.configuration.natsHighWaterMark else {
                awaitDrain()
                break
            }
            guard ledger.mayPublish else { break }
            queue.removeFirst()
            publish(item)
        }
        counters.bufferedAmount = queue.reduce(0) { total, item in
            if case .frame(let frame) = item { total + frame.message.readableBytes } else { total }
        }
        let shouldStall = ledger.hasLosslessNodes && !queue.isEmpty
        guard shouldStall != stalled, let stream else { return }
        stalled = shouldStall
        if shouldStall { stream.viewerStalled(self) } else { stream.viewerRecovered(self) }
    }

    private func publish(_ item: Item) {
        let number = ledger.published(item)
        let (body, kind) = Self.encoded(item)
        cluster.send(body, kind: kind, epoch: epoch, number: number, to: cluster.subjects.data(name))
        if case .frame(let frame) = item {
            lastPublished = (frame, publisherState.run)
            counters.countSentFrame()
            cluster.metrics.framesPublished.increment()
        }
    }

    private static func encoded(_ item: Item) -> (ByteBuffer, ClusterEnvelope.Kind) {
        switch item {
        case .frame(let frame): (frame.message, .frameChunk)
        case .control(let message): (ByteBuffer(string: message.json()), .control)
        }
    }

    /// Comes back to ``pump()`` once the connection has written half of its high-water mark.
    private func awaitDrain() {
        guard !awaitingDrain else { return }
        awaitingDrain = true
        cluster.nats.pendingOutboundBytesDrained(atMost: cluster.configuration.natsHighWaterMark / 2).whenComplete { _ in
            self.awaitingDrain = false
            self.pump()
        }
    }

    // MARK: Watching nodes

    private func handle(_ message: NATSMessage) {
        do {
            let report = try ClusterJSON.decode(MirrorReport.self, from: message.payload)
            if report.kind == .snapshot {
                if let replyTo = message.replyTo { sendSnapshot(to: replyTo) }
            } else {
                heard(report)
            }
        } catch {
            cluster.logger.notice("\(error)")
        }
    }

    /// The stream's latest frame, for a node that only wants to look at it once: a welcome that
    /// announces it (or says there is none), then its chunks.
    private func sendSnapshot(to subject: String) {
        let latest = cluster.registry.existingStream(named: name)?.latestFrame
        let welcome = OriginWelcome(
            node: cluster.nodeName, publisher: publisherState, snapshotRun: nil, snapshotBytes: latest?.message.readableBytes
        )
        cluster.send(ClusterJSON.encode(welcome), kind: .welcome, epoch: 0, number: 0, to: subject)
        if let latest { cluster.send(latest.message, kind: .snapshotChunk, epoch: 0, number: 0, to: subject) }
    }

    /// A watching node's report, from its messages or from the census.
    func heard(_ report: MirrorReport) {
        // A report from this node's own feed, sent before the node took the stream, is no watcher's.
        guard report.node != cluster.nodeName else { return }
        if report.kind == .bye {
            ledger.remove(node: report.node)
            if ledger.nodes.isEmpty { detach() }
            updatePolicy()
            return pump()
        }
        if stream == nil {
            attach()
            guard stream != nil else { return }
        }
        let position = report.epoch == epoch ? report.received.map { ($0, report.grant ?? $0) } : nil
        let answer = ledger.heard(
            .init(
                node: report.node, lossless: report.lossless, position: position, window: report.window,
                resendFrom: report.kind == .resend ? report.from : nil, refresh: report.kind == .refresh
            ),
            now: .now
        )
        switch answer {
        case .none:
            break
        case .welcome:
            welcome(report.node)
        case .resend(let items):
            let inbox = cluster.subjects.inbox(node: report.node, name)
            for (number, item) in items {
                let (body, kind) = Self.encoded(item)
                cluster.send(body, kind: kind, epoch: epoch, number: number, to: inbox)
            }
            cluster.metrics.itemsResent.increment(by: Int64(items.count))
        }
        updatePolicy()
        pump()
    }

    /// Tells `node` where the stream stands, with its latest frame: the last frame published, or,
    /// when frames wait in the queue (they will reach the node in order), the last one before them.
    private func welcome(_ node: String) {
        let waiting = queue.contains { if case .frame = $0 { true } else { false } }
        let snapshot = waiting ? lastPublished : lastDelivered
        let welcome = OriginWelcome(
            node: cluster.nodeName, publisher: publisherState,
            snapshotRun: snapshot.flatMap { $0.run }, snapshotBytes: snapshot?.frame.message.readableBytes
        )
        let inbox = cluster.subjects.inbox(node: node, name)
        cluster.send(ClusterJSON.encode(welcome), kind: .welcome, epoch: epoch, number: ledger.lastNumber, to: inbox)
        if let snapshot {
            cluster.send(snapshot.frame.message, kind: .snapshotChunk, epoch: epoch, number: ledger.lastNumber, to: inbox)
        }
    }

    private func updatePolicy() {
        lossless.store(ledger.hasLosslessNodes, ordering: .relaxed)
    }

    /// Starts an epoch: the first node started watching.
    private func attach() {
        guard let stream = cluster.registry.checkOut(name) else { return }
        self.stream = stream
        epoch = UInt64.random(in: 1...UInt64.max)
        ledger = OriginLedger(nodeTimeout: cluster.configuration.nodeTimeout)
        queue.removeAll()
        stalled = false
        lastPublished = nil
        let welcome = stream.attach(viewer: self)
        publisherState = welcome.publisher
        lastDelivered = welcome.latest.map { ($0, welcome.latestRun?.id) }
        cluster.logger.info("a node started watching; publishing the stream to the cluster", metadata: ["stream": "\(name)"])
    }

    /// The last node stopped watching: stop publishing and let the stream go.
    private func detach() {
        guard let stream else { return }
        self.stream = nil
        stream.detach(viewer: self)
        cluster.registry.checkIn(stream)
        queue.removeAll()
        stalled = false
        lastPublished = nil
        lastDelivered = nil
        ledger = OriginLedger(nodeTimeout: cluster.configuration.nodeTimeout)
        updatePolicy()
        counters.bufferedAmount = 0
        cluster.logger.info("no node watches any more; stopped publishing to the cluster", metadata: ["stream": "\(name)"])
    }
}
