import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG

/// Publishes a ``FrameSource`` to a stream: decodes frames on every core, paces them by
/// `bufferedAmount` (and `framesPerSecond`), survives reconnects, and ends the stream when the input
/// ends.
///
/// Cancelling the task that runs ``run(_:onEvent:)`` stops the sender: frames already handed to the
/// connection are written, the connection closes with 1001 and no end message (the stream is not
/// complete), and the summary so far comes back with ``SenderSummary/stopped`` set.
public struct Sender: Sendable {
    /// Where to send and how to pace.
    public let configuration: SenderConfiguration

    /// Prepares a sender; nothing connects until ``run(_:onEvent:)``.
    public init(configuration: SenderConfiguration) {
        self.configuration = configuration
    }

    /// Sends every frame of `source`, then `{"type":"end"}`, and closes with 1000.
    ///
    /// - Parameter onEvent: Progress, skipped inputs and reconnects, as they happen.
    /// - Throws: ``TransferError`` for an invalid input (unless skipped), a source without a single
    ///   frame, or a server that did not close the ended stream with 1000; `WebSocketClientError` when
    ///   the connection fails for good: at once for a failure that cannot heal, after
    ///   ``SenderConfiguration/retryFor`` of transient ones.
    public func run(
        _ source: FrameSource, onEvent: @escaping @Sendable (SenderEvent) -> Void = { _ in }
    ) async throws -> SenderSummary {
        let configuration = self.configuration
        let decoder = PNGDecoder()
        var publisher = ReconnectingPublisher(
            url: configuration.url,
            configuration: .init(
                client: configuration.client, threshold: configuration.threshold,
                reconnects: configuration.reconnects, retryFor: configuration.retryFor, stopReason: "sender stopped",
                deltas: configuration.deltas
            ),
            onReconnect: { retry in onEvent(.reconnecting(retry)) }
        )
        var stats = TransferStats()
        var deltaFrames = 0
        var skipped: [String] = []
        var sequence: UInt64 = 0
        func summary(stopped: Bool) -> SenderSummary {
            SenderSummary(
                frames: stats.frames, bytes: stats.bytes, seconds: stats.seconds,
                framesPerSecond: stats.framesPerSecond, megabytesPerSecond: stats.megabytesPerSecond,
                reconnects: publisher.reconnects, deltaFrames: deltaFrames, skipped: skipped, stopped: stopped
            )
        }
        let interval = configuration.framesPerSecond.map { Duration.milliseconds(1000 / $0) }
        var nextTick = ContinuousClock.now
        do {
            try await publisher.connect()
            try await orderedParallelMap(
                source.items,
                width: configuration.decodeWidth,
                transform: { item in
                    Result { () throws(TransferError) in
                        try PreparedFrame.prepare(item, format: configuration.wireFormat, decoder: decoder)
                    }
                },
                consume: { prepared in
                    let frame: PreparedFrame
                    switch prepared {
                    case .success(let value):
                        frame = value
                    case .failure(let failure):
                        guard configuration.invalidInput == .skip else { throw failure }
                        onEvent(.skipped(failure))
                        skipped.append(failure.description)
                        return true
                    }
                    if let interval {
                        try await Task.sleep(until: nextTick, clock: .continuous)
                        nextTick = max(nextTick + interval, .now)  // late frames are not made up in a burst
                    }
                    let header = FrameHeader(
                        pixelFormat: frame.format, width: frame.size.width, height: frame.size.height,
                        sequence: sequence, captureTimeMicros: WallClock.microsecondsNow()
                    )
                    let sent = try await publisher.publish(header, payload: frame.payload)
                    sequence += 1
                    stats.frames += 1
                    stats.bytes += sent.bytes
                    if sent.pixelFormat == .rgba8Delta { deltaFrames += 1 }
                    onEvent(.progress(SenderProgress(
                        frames: stats.frames, total: source.count, framesPerSecond: stats.framesPerSecond,
                        megabytesPerSecond: stats.megabytesPerSecond, bufferedAmount: publisher.bufferedAmount
                    )))
                    return true
                }
            )
            // A cancelled source may simply end; a stopped sender must not end the stream.
            try Task.checkCancellation()
            guard sequence > 0 else {
                // Nothing to end either: without an end message a receiver waiting for this run keeps
                // waiting for the next one, which is what the user will start after fixing the input.
                await publisher.close(code: 1000, reason: "no frames to send")
                throw TransferError.noFrames(skipped: skipped.count)
            }
            let closed = try await publisher.finish(lastSequence: sequence - 1)
            guard closed.code == 1000 else { throw TransferError.streamClosedBadly(closed) }
        } catch {
            guard Task.isCancelled else { throw error }
            await publisher.close(code: 1001, reason: "sender stopped")
            return summary(stopped: true)
        }
        return summary(stopped: false)
    }
}
