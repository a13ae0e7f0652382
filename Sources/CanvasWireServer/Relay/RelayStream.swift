import CanvasWireCore
import CoreMetrics
import NIOCore
import Synchronization

/// One named stream: its publisher, its viewers and its latest frame.
///
/// The publisher's event loop calls ``publish(_:)``; viewers live on any loop. The lock guards only
/// bookkeeping: frames are handed to viewers after it is released, and each viewer hops to its own loop.
final class RelayStream: Sendable {
    let name: StreamName
    private let metrics: StreamMetrics
    private let state = Mutex(State())

    private struct State {
        var latest: Frame?
        var publisher: (any RelayPublisher)?
        var viewers: [ObjectIdentifier: any RelayViewer] = [:]
        /// Lossless viewers above their high-water mark; while any exist the publisher is not read.
        var stalledViewers: Set<ObjectIdentifier> = []
        var nextStampedSequence: UInt64 = 0
        var framesIn: UInt64 = 0
        var rate = FrameRateMeter()
    }

    init(name: StreamName, metrics: StreamMetrics) {
        self.name = name
        self.metrics = metrics
    }

    // MARK: Publisher

    /// Makes `publisher` the stream's only publisher. Returns `false` if another one is attached.
    func attach(publisher: any RelayPublisher) -> Bool {
        let attached: (viewers: [any RelayViewer], paused: Bool)? = state.withLock { state in
            guard state.publisher == nil else { return nil }
            state.publisher = publisher
            return (Array(state.viewers.values), !state.stalledViewers.isEmpty)
        }
        guard let (viewers, paused) = attached else { return false }
        if paused { publisher.readingConditionChanged() }
        viewers.forEach { $0.deliver(.publisher(.init(connected: true))) }
        return true
    }

    func detach(publisher: any RelayPublisher) {
        let viewers: [any RelayViewer]? = state.withLock { state in
            guard let current = state.publisher, current === publisher else { return nil }
            state.publisher = nil
            return Array(state.viewers.values)
        }
        viewers?.forEach { $0.deliver(.publisher(.init(connected: false))) }
    }

    /// The next sequence number for a bare-mode frame, which carries none of its own.
    func stampSequence() -> UInt64 {
        state.withLock { state in
            defer { state.nextStampedSequence += 1 }
            return state.nextStampedSequence
        }
    }

    /// Makes `frame` the latest and hands it to every viewer. The frame's bytes are shared, not copied.
    func publish(_ frame: Frame) {
        let viewers = state.withLock { state in
            state.latest = frame
            state.framesIn += 1
            state.nextStampedSequence = max(state.nextStampedSequence, frame.header.sequence &+ 1)
            state.rate.record(.now)
            return Array(state.viewers.values)
        }
        metrics.framesIn.increment()
        metrics.bytesIn.increment(by: Int64(frame.message.readableBytes))
        for viewer in viewers { viewer.deliver(frame) }
    }

    /// Tells every viewer the finite stream is complete.
    func end(lastSequence: UInt64?) {
        let viewers = state.withLock { Array($0.viewers.values) }
        viewers.forEach { $0.deliver(.end(.init(lastSequence: lastSequence))) }
    }

    // MARK: Viewers

    /// Adds a viewer and returns what it must be sent first: the latest frame, if any.
    func attach(viewer: any RelayViewer) -> (latest: Frame?, publisherConnected: Bool) {
        state.withLock { state in
            state.viewers[ObjectIdentifier(viewer)] = viewer
            return (state.latest, state.publisher != nil)
        }
    }

    func detach(viewer: any RelayViewer) {
        let resume = state.withLock { state in
            state.viewers[ObjectIdentifier(viewer)] = nil
            return state.stalledViewers.remove(ObjectIdentifier(viewer)) != nil && state.stalledViewers.isEmpty
                ? state.publisher : nil
        }
        resume?.readingConditionChanged()
    }

    /// A lossless viewer went above its high-water mark: stop reading the publisher.
    func viewerStalled(_ viewer: any RelayViewer) {
        let pause = state.withLock { state in
            state.stalledViewers.insert(ObjectIdentifier(viewer)).inserted && state.stalledViewers.count == 1
                ? state.publisher : nil
        }
        pause?.readingConditionChanged()
    }

    /// A lossless viewer drained to its low-water mark: read the publisher again once no viewer is stalled.
    func viewerRecovered(_ viewer: any RelayViewer) {
        let resume = state.withLock { state in
            state.stalledViewers.remove(ObjectIdentifier(viewer)) != nil && state.stalledViewers.isEmpty
                ? state.publisher : nil
        }
        resume?.readingConditionChanged()
    }

    /// Whether the publisher may be read: no lossless viewer is above its high-water mark.
    var publisherMayRead: Bool { state.withLock { $0.stalledViewers.isEmpty } }

    func recordSent(_ frame: Frame) {
        metrics.framesOut.increment()
        metrics.bytesOut.increment(by: Int64(frame.message.readableBytes))
    }

    func recordDropped(_ count: UInt64) {
        metrics.framesDropped.increment(by: Int64(count))
    }

    // MARK: Status

    var latestFrame: Frame? { state.withLock { $0.latest } }

    /// Whether nothing refers to the stream any more, so the registry may forget it.
    var isIdle: Bool { state.withLock { $0.publisher == nil && $0.viewers.isEmpty } }

    func snapshot() -> StreamSnapshot {
        state.withLock { state in
            StreamSnapshot(
                name: name.rawValue,
                width: state.latest?.header.width,
                height: state.latest?.header.height,
                framesPerSecond: state.rate.framesPerSecond(at: .now),
                framesIn: state.framesIn,
                lastSequence: state.latest?.header.sequence,
                publisher: state.publisher.map { ConnectionSnapshot($0.counters, policy: nil) },
                viewers: state.viewers.values
                    .map { ConnectionSnapshot($0.counters, policy: $0.policy.rawValue) }
                    .sorted { $0.id < $1.id }
            )
        }
    }
}
