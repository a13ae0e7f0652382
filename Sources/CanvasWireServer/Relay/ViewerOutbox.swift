import CanvasWireCore

/// The pure decision logic of one viewer's outgoing frames, driven by its `bufferedAmount`.
///
/// It owns no channel: the connection reports bytes queued and bytes written, and the outbox answers
/// what to send. Keeping it free of I/O makes every backpressure rule testable on its own.
struct ViewerOutbox {
    /// A frame to write now, with the drop report that must precede it.
    struct Delivery {
        var frame: Frame
        var dropped: ControlMessage.Dropped?
    }

    /// A change in whether a lossless viewer is holding its publisher back.
    enum StallChange: Equatable {
        case stalled
        case recovered
    }

    let policy: DeliveryPolicy
    let highWaterMark: Int
    let lowWaterMark: Int

    /// Bytes handed to the connection and not yet written to its socket.
    private(set) var bufferedAmount = 0
    private(set) var droppedTotal: UInt64 = 0
    private(set) var isStalled = false
    private var pending: Frame?
    private var droppedSinceDelivery: UInt64 = 0

    init(policy: DeliveryPolicy, highWaterMark: Int, lowWaterMark: Int) {
        self.policy = policy
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
    }

    /// A new frame for this viewer. `latest` holds it while over the high-water mark, replacing (and
    /// counting as dropped) any frame already held; `all` always delivers.
    mutating func offer(_ frame: Frame) -> Delivery? {
        switch policy {
        case .all:
            return Delivery(frame: frame, dropped: nil)
        case .latest:
            if pending == nil, bufferedAmount < highWaterMark {
                return makeDelivery(frame)
            }
            if pending != nil {
                droppedSinceDelivery += 1
                droppedTotal += 1
            }
            pending = frame
            return nil
        }
    }

    /// Records bytes handed to the connection.
    mutating func didQueue(bytes: Int) -> StallChange? {
        bufferedAmount += bytes
        if policy == .all, !isStalled, bufferedAmount > highWaterMark {
            isStalled = true
            return .stalled
        }
        return nil
    }

    /// Records bytes the socket has taken, and releases the held frame or the publisher if they may go.
    mutating func didWrite(bytes: Int) -> (delivery: Delivery?, stallChange: StallChange?) {
        bufferedAmount -= bytes
        var change: StallChange?
        if isStalled, bufferedAmount <= lowWaterMark {
            isStalled = false
            change = .recovered
        }
        guard bufferedAmount < highWaterMark, let frame = pending else { return (nil, change) }
        pending = nil
        return (makeDelivery(frame), change)
    }

    /// Releases the held frame regardless of the buffer, for the end of a stream: the last frame
    /// must reach the viewer before the `end` message does.
    mutating func flush() -> Delivery? {
        guard let frame = pending else { return nil }
        pending = nil
        return makeDelivery(frame)
    }

    private mutating func makeDelivery(_ frame: Frame) -> Delivery {
        defer { droppedSinceDelivery = 0 }
        guard droppedSinceDelivery > 0 else { return Delivery(frame: frame, dropped: nil) }
        return Delivery(frame: frame, dropped: .init(count: droppedSinceDelivery, total: droppedTotal))
    }
}
