import CanvasWireCore
import CoreMetrics
import NIOCore
import Synchronization

/// One named stream: its publisher, its viewers, its runs and its latest frame.
///
/// The publisher's event loop calls ``publish(_:)``; viewers live on any loop. The lock guards only
/// bookkeeping: frames are handed to viewers after it is released, and each viewer hops to its own loop.
final class RelayStream: Sendable {
    let name: StreamName
    let metrics: StreamMetrics
    /// Which of the stream's messages are worth compressing, for viewers that agreed to deflate.
    let compression: CompressionAdvisor
    private let makeRunID: @Sendable () -> String
    private let state: Mutex<State>

    private struct State {
        var latest: Frame?
        var publisher: (any RelayPublisher)?
        /// An array, not a dictionary: each frame shares it instead of copying the viewers out.
        var viewers: [any RelayViewer] = []
        /// Lossless viewers above their high-water mark; while any exist the publisher is not read.
        var stalledViewers: Set<ObjectIdentifier> = []
        var runs = StreamRuns()
        /// Viewers that take delta frames; while there are none, no frame is compared with the last.
        var deltaViewers = 0
        /// The position the next published frame gets, and what changed at recent frames.
        var nextIndex: UInt64 = 1
        var tileHistory = TileHistory()
        var nextStampedSequence: UInt64 = 0
        var framesIn: UInt64 = 0
        var rate = FrameRateMeter()
        /// Connections holding the stream (see ``StreamRegistry/checkOut(_:)``), and since when none has.
        var users = 0
        var idleSince: ContinuousClock.Instant?
    }

    /// What a viewer is told when it joins.
    struct Welcome {
        var latest: Frame?
        /// The run the latest frame belongs to, and its state.
        var latestRun: (id: String, state: RunState)?
        var publisher: ControlMessage.PublisherState
    }

    init(
        name: StreamName, metrics: StreamMetrics, compression: CompressionAdvisor = CompressionAdvisor(mode: .auto),
        makeRunID: @escaping @Sendable () -> String
    ) {
        self.name = name
        self.metrics = metrics
        self.compression = compression
        self.makeRunID = makeRunID
        self.state = Mutex(State(idleSince: .now))
    }

    // MARK: Users

    /// A connection holds the stream from now on; called under the registry's lock.
    func checkOut() {
        state.withLock { state in
            state.users += 1
            state.idleSince = nil
        }
    }

    /// A connection no longer holds the stream.
    func checkIn() {
        state.withLock { state in
            state.users -= 1
            if state.users == 0 { state.idleSince = .now }
        }
    }

    /// Whether no connection has held the stream since `cutoff` or earlier.
    func isIdle(since cutoff: ContinuousClock.Instant) -> Bool {
        state.withLock { state in state.idleSince.map { $0 <= cutoff } ?? false }
    }

    // MARK: Publisher

    /// Makes `publisher` the stream's only publisher, continuing run `continuing` if that is the
    /// stream's interrupted current run and starting a new run otherwise, called `runID` when given
    /// (a cluster node takes the run of the node that holds the publisher). Returns the run, or `nil`
    /// if another publisher is attached.
    func attach(publisher: any RelayPublisher, continuing: String?, runID: String? = nil) -> (run: String, continued: Bool)? {
        let attached: (run: String, continued: Bool, message: ControlMessage, viewers: [any RelayViewer], paused: Bool)? =
            state.withLock { state in
                guard state.publisher == nil else { return nil }
                state.publisher = publisher
                let (run, continued) = state.runs.publisherAttached(continuing: continuing, newID: { runID ?? makeRunID() })
                if !continued { state.nextStampedSequence = 0 }
                let message = ControlMessage.publisher(state.runs.publisherMessage(connected: true, continued: continued))
                return (run, continued, message, state.viewers, !state.stalledViewers.isEmpty)
            }
        guard let attached else { return nil }
        if attached.paused { publisher.readingConditionChanged() }
        attached.viewers.forEach { $0.deliver(attached.message) }
        return (attached.run, attached.continued)
    }

    func detach(publisher: any RelayPublisher) {
        let detached: (message: ControlMessage, viewers: [any RelayViewer])? = state.withLock { state in
            guard let current = state.publisher, current === publisher else { return nil }
            state.publisher = nil
            state.runs.publisherDetached()
            return (.publisher(state.runs.publisherMessage(connected: false)), state.viewers)
        }
        guard let detached else { return }
        detached.viewers.forEach { $0.deliver(detached.message) }
    }

    /// The next sequence number for a bare-mode frame, which carries none of its own.
    func stampSequence() -> UInt64 {
        state.withLock { state in
            defer { state.nextStampedSequence += 1 }
            return state.nextStampedSequence
        }
    }

    /// Makes `frame` the latest and hands it to every viewer. The frame's bytes are shared, not copied.
    ///
    /// When delta viewers are attached, the frame is first compared with the previous one (on the
    /// publisher's event loop, before any viewer sees it): about 0.6 ms for 1920x1080 screen content,
    /// once per frame whatever the number of viewers; only in the tiles its rectangles touched when
    /// the frame was made from a publisher's delta (`delta`).
    func publish(_ frame: Frame, fromDelta delta: DeltaOrigin? = nil) {
        let (index, previous, wantsTiles) = state.withLock { state in
            defer { state.nextIndex += 1 }
            return (state.nextIndex, state.latest, state.deltaViewers > 0)
        }
        var place = FrameVariants.Place(index: index)
        if frame.header.pixelFormat == .rgba8, frame.header.size.width <= DeltaRectangle.maxCoordinate,
            frame.header.size.height <= DeltaRectangle.maxCoordinate
        {
            let grid = TileGrid(frameSize: frame.header.size)
            place.grid = grid
            if wantsTiles, let previous, previous.header.pixelFormat == .rgba8, previous.header.size == frame.header.size {
                // A delta applied to this very frame changed nothing outside its rectangles.
                let candidates = delta.flatMap { delta in
                    delta.base === previous.variants
                        ? delta.payload.withUnsafeReadableBytes { DeltaDecoder.tilesTouched(by: $0, in: grid) } : nil
                }
                var tiles = TileSet(grid: grid)
                previous.payload.withUnsafeReadableBytes { old in
                    frame.payload.withUnsafeReadableBytes { new in
                        if let candidates {
                            grid.insertChangedTiles(from: old, to: new, into: &tiles, among: candidates)
                        } else {
                            grid.insertChangedTiles(from: old, to: new, into: &tiles)
                        }
                    }
                }
                place.changedTiles = tiles
            }
        }
        var frame = frame
        frame.place = place
        let viewers = state.withLock { state in
            state.latest = frame
            state.tileHistory.record(index: index, tiles: place.changedTiles, grid: place.grid)
            state.runs.framePublished()
            state.framesIn += 1
            state.nextStampedSequence = max(state.nextStampedSequence, frame.header.sequence &+ 1)
            state.rate.record(.now)
            return state.viewers
        }
        metrics.framesIn.increment()
        metrics.bytesIn.increment(by: Int64(frame.message.readableBytes))
        for viewer in viewers { viewer.deliver(frame) }
    }

    /// Keeps `frame` as the latest, from run `run`, without sending it to anyone: a cluster node
    /// that starts viewing a stream elsewhere learns its latest frame, which late viewers and
    /// `latest.png` get here too, but which is no news to the viewers already here when its run is over.
    func adoptLatest(_ frame: Frame, run: String?) {
        state.withLock { state in
            state.latest = frame
            state.runs.frameAdopted(run: run)
        }
    }

    /// Ends the current run and tells every viewer the finite stream is complete.
    func end(lastSequence: UInt64?) {
        let (run, viewers) = state.withLock { state in (state.runs.ended(), state.viewers) }
        viewers.forEach { $0.deliver(.end(.init(lastSequence: lastSequence, run: run))) }
    }

    // MARK: Viewers

    /// Adds a viewer, which must not be attached already, and returns what it must be told first.
    func attach(viewer: any RelayViewer) -> Welcome {
        state.withLock { state in
            state.viewers.append(viewer)
            if viewer.encoding == .delta { state.deltaViewers += 1 }
            return Welcome(
                latest: state.latest,
                latestRun: state.runs.latestFrameRun.flatMap { id in state.runs.latestFrameRunState.map { (id, $0) } },
                publisher: state.runs.publisherMessage(connected: state.publisher != nil)
            )
        }
    }

    func detach(viewer: any RelayViewer) {
        let resume = state.withLock { state in
            if let index = state.viewers.firstIndex(where: { $0 === viewer }) {
                state.viewers.remove(at: index)
                if viewer.encoding == .delta { state.deltaViewers -= 1 }
            }
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

    /// Every region changed after frame `base` up to frame `index` (positions, see ``FrameVariants``),
    /// for a viewer that skipped the frames between; `nil` when they are not all known.
    func changedTiles(after base: UInt64, through index: UInt64) -> TileSet? {
        state.withLock { $0.tileHistory.changes(after: base, through: index) }
    }

    /// A frame went to a viewer as a message of `bytes` (a delta or a compressed copy is smaller).
    func recordSent(bytes: Int) {
        metrics.framesOut.increment()
        metrics.bytesOut.increment(by: Int64(bytes))
    }

    func recordDropped(_ count: UInt64) {
        metrics.framesDropped.increment(by: Int64(count))
    }

    // MARK: Status

    var latestFrame: Frame? { state.withLock { $0.latest } }

    /// The current run's id, as ``snapshot()`` gives it, without the rest of the snapshot.
    var currentRun: String? { state.withLock { $0.runs.current?.id } }

    func snapshot() -> StreamSnapshot {
        state.withLock { state in
            StreamSnapshot(
                name: name.rawValue,
                width: state.latest?.header.width,
                height: state.latest?.header.height,
                framesPerSecond: state.rate.framesPerSecond(at: .now),
                framesIn: state.framesIn,
                lastSequence: state.latest?.header.sequence,
                run: state.runs.current?.id,
                runState: state.runs.current?.state,
                publisher: state.publisher.map { ConnectionSnapshot($0.counters, policy: nil) },
                viewers: state.viewers
                    .map { ConnectionSnapshot($0.counters, policy: $0.policy.rawValue) }
                    .sorted { $0.id < $1.id }
            )
        }
    }
}

/// What a publisher's delta tells the stream about the full frame made from it: the frame it was
/// applied to, and its rectangles, outside which nothing changed. When that frame is the stream's
/// previous one and delta viewers need changed tiles, only the tiles the rectangles touch are compared.
struct DeltaOrigin {
    /// The variants of the frame the delta was applied to: its identity, since positions do not tell
    /// frames apart (a frame adopted from another node has none of its own).
    var base: FrameVariants
    /// The delta's validated payload (a slice of the publisher's message, not a copy).
    var payload: ByteBuffer
}
