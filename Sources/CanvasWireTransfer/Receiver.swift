import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import Synchronization

/// Subscribes to a stream and writes its frames as files (or to stdout), encoding on every core,
/// losing nothing with the `all` policy and leaving nothing half-written.
///
/// Runs until the stream's end message, ``ReceiverConfiguration/count`` frames,
/// ``ReceiverConfiguration/duration``, the server closing, or ``stop(reason:)``.
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
    ///   frame cannot be written (an existing file, a full or read-only disk).
    public func run(onProgress: (ReceiverProgress) -> Void = { _ in }) async throws -> ReceiverSummary {
        let configuration = self.configuration
        let subscriber = try await configuration.acknowledges
            ? StreamSubscriber.connect(
                to: configuration.url, policy: configuration.policy, ackWindow: configuration.writeWidth,
                configuration: configuration.client
            )
            : StreamSubscriber.connect(to: configuration.url, policy: configuration.policy, configuration: configuration.client)
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
        var dropped: UInt64 = 0
        var skipped = 0
        var ended = false

        try await withThrowingTaskGroup(of: Void.self) { group in
            if let duration = configuration.duration {
                group.addTask {
                    try await Task.sleep(for: duration)
                    await subscriber.connection.close(code: 1000, reason: "duration reached")
                }
            }
            /// Records a frame that is out; `false` once `count` frames are.
            func countFrame(bytes: Int) -> Bool {
                stats.frames += 1
                stats.bytes += bytes
                onProgress(ReceiverProgress(
                    frames: stats.frames, framesPerSecond: stats.framesPerSecond,
                    megabytesPerSecond: stats.megabytesPerSecond, dropped: dropped
                ))
                return configuration.count.map { stats.frames < $0 } ?? true
            }
            try await orderedParallelMap(
                subscriber.events,
                width: configuration.writeWidth,
                transform: { event in (try writer.prepare(event), event) },
                consume: { output, event in
                    // Every frame is acknowledged once its output is done, written or not (a kept
                    // file, a frame of another run), or the server would stop sending.
                    if case .frame(let frame) = event { try await subscriber.acknowledge(frame) }
                    switch output {
                    case .written(let size):
                        return countFrame(bytes: size)
                    case .encoded(let bytes):
                        try writer.writeToStdout(bytes)
                        return countFrame(bytes: bytes.count)
                    case .dropped(let total):
                        dropped = total
                        return true
                    case .skipped:
                        skipped += 1
                        return true
                    case .ended:
                        ended = true
                        return false
                    case .ignored:
                        return true
                    }
                }
            )
            group.cancelAll()
        }
        var info = subscriber.connection.closeInfo
        if info == nil { info = await subscriber.connection.close(code: 1000, reason: "done") }
        let closed = info ?? CloseInfo(code: 1006, reason: "", wasClean: false)
        let stoppedBy = state.withLock { state in
            state.connection = nil
            return state.stoppedBy
        }
        let limited = configuration.count != nil || configuration.duration != nil
        let lost = !ended && !limited && stoppedBy == nil && ![1000, 1001].contains(closed.code)
        return ReceiverSummary(
            frames: stats.frames, bytes: stats.bytes, seconds: stats.seconds, framesPerSecond: stats.framesPerSecond,
            dropped: dropped, ended: ended, closed: closed, skippedExisting: skipped, stoppedBy: stoppedBy,
            failure: lost ? .connectionEnded(closed) : nil
        )
    }
}
