import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import Synchronization

/// Subscribes to a stream and writes one run of it as files (or to stdout), encoding on every core,
/// losing nothing with the `all` policy and leaving nothing half-written.
///
/// It follows the stream's runs (``RunFollower``): a frame left over from an earlier run (the
/// stream's retained latest frame) is never written, and the first live run's frames are, across
/// reconnects of a publisher that continues its run. Runs until that run ends or a different run
/// starts (both clean ends), ``ReceiverConfiguration/count`` frames, ``ReceiverConfiguration/duration``,
/// the server closing, or ``stop(reason:)``.
public final class Receiver: Sendable {
    /// What to receive and how to write it.
    public let configuration: ReceiverConfiguration
    private let state = Mutex<(connection: WebSocketConnection?, stoppedBy: String?)>((nil, nil))

    /// Prepares a receiver; nothing connects until ``run(onProgress:)``.
    public init(configuration: ReceiverConfiguration) {
        self.configuration = configuration
    }

    /// Stops a running receiver cleanly from any task: the connection closes with 1001, frames
    /// already received are still written, and ``run(onProgress:)`` returns its summary.
    ///
    /// - Parameter reason: Recorded as ``ReceiverSummary/stoppedBy``, for example `SIGTERM`.
    public func stop(reason: String) async {
        let connection = state.withLock { state -> WebSocketConnection? in
            if state.stoppedBy == nil { state.stoppedBy = reason }
            return state.connection
        }
        await connection?.close(code: 1001, reason: "receiver stopped")
    }

    /// Receives until the stream ends or a limit is reached.
    ///
    /// - Parameter onProgress: Called after each frame is written, from the receiving task.
    /// - Throws: `WebSocketClientError` when the stream cannot be joined; ``TransferError`` when a
    ///   frame cannot be written (an existing file, a full or read-only disk, a size change in a raw
    ///   stdout stream). Nothing after the frame that failed is written.
    public func run(onProgress: (ReceiverProgress) -> Void = { _ in }) async throws -> ReceiverSummary {
        let configuration = self.configuration
        let subscriber = try await configuration.acknowledges
            ? StreamSubscriber.connect(
                to: configuration.url, policy: configuration.policy, encoding: configuration.encoding,
                ackWindow: configuration.writeWidth, configuration: configuration.client
            )
            : StreamSubscriber.connect(
                to: configuration.url, policy: configuration.policy, encoding: configuration.encoding,
                configuration: configuration.client
            )
        let stoppedEarly = state.withLock { state in
            state.connection = subscriber.connection
            return state.stoppedBy != nil
        }
        if stoppedEarly { await subscriber.connection.close(code: 1001, reason: "receiver stopped") }
        let writer = FrameWriter(
            destination: configuration.destination, pattern: configuration.filePattern, format: configuration.format,
            existingFiles: configuration.existingFiles, durable: configuration.durable,
            encoder: PNGEncoder(configuration: configuration.encoder),
            decoder: PNGDecoder(limits: subscriber.hello.limits.frameLimits)
        )
        var stats = TransferStats()
        var wire = (bytes: 0, deltaFrames: 0)
        var dropped: UInt64 = 0
        var skipped = 0
        var leftovers = 0
        var ended = false
        var newRun = false
        var follower = RunFollower()
        follower.received(subscriber.hello)
        var rawSize: FrameSize?
        var closeReason = "done"

        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let duration = configuration.duration {
                    group.addTask {
                        try await Task.sleep(for: duration)
                        await subscriber.connection.close(code: 1000, reason: "duration reached")
                    }
                }
                // Frames are encoded and staged in parallel; everything that decides what appears (the
                // run, the count, a size change, a failed write) happens here, in stream order. Only
                // naming a file is serial, which cost nothing measurable: 48 1080p frames, PNG files
                // out 45.3 frames/s against 44.5 with whole files written in parallel, raw files out
                // 81.5 against 77.1 (medians, docs/BENCHMARKS.md).
                try await orderedParallelMap(
                    subscriber.events,
                    width: configuration.writeWidth,
                    transform: { event in try ReceivedItem(event, writer: writer) },
                    consume: { item in
                        switch item {
                        case .frame(let output, let sequence, let arrived):
                            // Its writer has encoded and staged it, so one is free: acknowledge it,
                            // whether it is then saved or not (a leftover of the run before, a kept
                            // file), or the server stops sending.
                            try await subscriber.acknowledge(sequence: sequence)
                            wire.bytes += arrived.wireBytes
                            if arrived.wireFormat == .rgba8Delta { wire.deltaFrames += 1 }
                            switch follower.receivedFrame() {
                            case .skip:
                                leftovers += 1
                                return true
                            case .finish:
                                newRun = true
                                closeReason = "a new run started"
                                return false
                            case .save:
                                break
                            }
                            if case .encoded(_, let size?) = output, !configuration.allowsSizeChange {
                                if let first = rawSize, first != size {
                                    throw TransferError.sizeChanged(sequence: sequence, from: first, to: size)
                                }
                                rawSize = size
                            }
                            guard let bytes = try writer.commit(output) else {
                                skipped += 1
                                return true
                            }
                            stats.frames += 1
                            stats.bytes += bytes
                            onProgress(ReceiverProgress(
                                frames: stats.frames, framesPerSecond: stats.framesPerSecond,
                                megabytesPerSecond: stats.megabytesPerSecond, dropped: dropped
                            ))
                            guard let count = configuration.count, stats.frames >= count else { return true }
                            closeReason = "count reached"
                            return false
                        case .dropped(let message):
                            dropped = message.total
                            return true
                        case .publisher(let state):
                            guard follower.received(state) == .finish else { return true }
                            newRun = true
                            closeReason = "a new run started"
                            return false
                        case .end(let end):
                            ended = follower.received(end) == .finish
                            return !ended
                        }
                    }
                )
                group.cancelAll()
            }
        } catch {
            await subscriber.connection.close(code: 1001, reason: "receiver failed")
            throw error
        }
        var info = subscriber.connection.closeInfo
        if info == nil { info = await subscriber.connection.close(code: 1000, reason: closeReason) }
        let closed = info ?? CloseInfo(code: 1006, reason: "", wasClean: false)
        let stoppedBy = state.withLock { state in
            state.connection = nil
            return state.stoppedBy
        }
        let limited = configuration.count != nil || configuration.duration != nil
        let lost = !ended && !newRun && !limited && stoppedBy == nil && ![1000, 1001].contains(closed.code)
        return ReceiverSummary(
            frames: stats.frames, bytes: stats.bytes, seconds: stats.seconds, framesPerSecond: stats.framesPerSecond,
            dropped: dropped, ended: ended, closed: closed, skippedExisting: skipped, stoppedBy: stoppedBy,
            run: follower.following, newRun: newRun, skippedLeftovers: leftovers,
            wireBytes: wire.bytes, deltaFrames: wire.deltaFrames,
            failure: lost ? .connectionEnded(closed) : nil
        )
    }
}

/// A received event on its way from the parallel step to the in-order one: a frame encoded and
/// staged, or a control message as it came.
private enum ReceivedItem: Sendable {
    case frame(FrameWriter.Output, sequence: UInt64, arrived: (wireBytes: Int, wireFormat: PixelFormat))
    case dropped(ControlMessage.Dropped)
    case publisher(ControlMessage.PublisherState)
    case end(ControlMessage.End)

    init(_ event: StreamEvent, writer: FrameWriter) throws {
        switch event {
        case .frame(let frame):
            self = .frame(try writer.prepare(frame), sequence: frame.header.sequence, arrived: (frame.wireBytes, frame.wireFormat))
        case .dropped(let message): self = .dropped(message)
        case .publisher(let state): self = .publisher(state)
        case .end(let end): self = .end(end)
        }
    }
}
