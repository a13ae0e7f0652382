import CanvasWireCore
import NIOCore

/// The pure decision logic of one viewer's outgoing messages, driven by its `bufferedAmount` and,
/// for a viewer that acknowledges frames (`?ack=N`), by its acknowledgements.
///
/// It owns no channel: the connection reports frames and control messages to send, bytes queued,
/// bytes written and acks received, then asks ``nextOutgoing()`` what may go now (until it answers
/// `nil`) and ``takeStallChange()`` whether the publisher must be held back or released. Keeping it
/// free of I/O makes every delivery rule testable on its own.
///
/// The rules (docs/PROTOCOL.md): a `latest` viewer gets a frame only while its `bufferedAmount` is
/// below the high-water mark and fewer than N frames are unacknowledged; otherwise the newest frame
/// waits, replacing (and counting as dropped) an older one. An `all` viewer gets every frame in order;
/// while N frames are unacknowledged the rest wait here, with any control message behind them, and the
/// viewer holds its publisher back exactly as one above its high-water mark does.
struct ViewerOutbox {
    /// A frame to write now, with the drop report that must precede it.
    struct Delivery {
        var frame: Frame
        var dropped: ControlMessage.Dropped?
    }

    /// What the connection writes next.
    enum Outgoing {
        case frame(Delivery)
        case message(ControlMessage)
    }

    let policy: DeliveryPolicy
    /// The most frames sent and not yet acknowledged; `nil` for a viewer that sends no acks.
    let ackWindow: Int?

    private var marks: WaterMarks
    private(set) var droppedTotal: UInt64 = 0
    /// A `latest` viewer's newest frame, held while the buffer or the ack window is full.
    private var pending: Frame?
    /// What goes out before anything else, in order: an `all` viewer's frames (and the control messages
    /// behind them) while its window is full; a `latest` viewer's held frame released by a control message.
    private var queue = CircularBuffer<Outgoing>()
    /// Sequence numbers of the frames sent and not yet acknowledged, oldest first.
    private var inFlight = CircularBuffer<UInt64>()
    private var droppedSinceDelivery: UInt64 = 0

    init(policy: DeliveryPolicy, highWaterMark: Int, lowWaterMark: Int, ackWindow: Int? = nil) {
        self.policy = policy
        self.marks = WaterMarks(high: highWaterMark, low: lowWaterMark)
        self.ackWindow = ackWindow
    }

    /// Bytes handed to the connection and not yet written to its socket.
    var bufferedAmount: Int { marks.bufferedAmount }

    /// Whether this lossless viewer holds its publisher back.
    var isStalled: Bool { marks.isStalled }

    /// Frames sent and not yet acknowledged (always 0 without acks).
    var framesInFlight: Int { inFlight.count }

    private var windowHasRoom: Bool { ackWindow.map { inFlight.count < $0 } ?? true }

    // MARK: Events

    /// A new frame for this viewer: `all` queues it behind everything before it; `latest` holds it as
    /// the newest, replacing (and counting as dropped) any frame held already.
    mutating func offer(_ frame: Frame) {
        switch policy {
        case .all:
            queue.append(.frame(Delivery(frame: frame, dropped: nil)))
        case .latest:
            if pending != nil {
                droppedSinceDelivery += 1
                droppedTotal += 1
            }
            pending = frame
        }
    }

    /// A control message (`publisher`, `end`) for this viewer. A frame held back belongs to the run
    /// before the message, so it goes first whatever the buffer holds, if the ack window has room;
    /// if it has not, the frame is dropped, since it cannot arrive before the message.
    mutating func offer(_ message: ControlMessage) {
        if let frame = pending {
            pending = nil
            if windowHasRoom {
                queue.append(.frame(makeDelivery(frame)))
            } else {
                droppedSinceDelivery += 1
                droppedTotal += 1
            }
        }
        queue.append(.message(message))
    }

    /// Records bytes handed to the connection.
    mutating func didQueue(bytes: Int) {
        marks.didQueue(bytes: bytes)
    }

    /// Records bytes the socket has taken.
    mutating func didWrite(bytes: Int) {
        marks.didWrite(bytes: bytes)
    }

    /// The viewer has drawn frame `sequence`, and with it every frame sent before it. When the same
    /// sequence number is in flight twice (a new run restarted the numbering), it names the older.
    ///
    /// - Throws: ``FrameError/ackWithoutWindow`` when the viewer did not ask for acks,
    ///   ``FrameError/ackNotInFlight(sequence:inFlight:)`` when no such frame is in flight.
    mutating func acknowledge(_ sequence: UInt64) throws(FrameError) {
        guard ackWindow != nil else { throw .ackWithoutWindow }
        guard let index = inFlight.firstIndex(of: sequence) else {
            throw .ackNotInFlight(sequence: sequence, inFlight: Array(inFlight))
        }
        inFlight.removeFirst(inFlight.distance(from: inFlight.startIndex, to: index) + 1)
    }

    // MARK: Decisions

    /// The next message that may be written now, `nil` when nothing may. Ask again after writing it:
    /// its bytes count against the buffer from the moment they are queued.
    mutating func nextOutgoing() -> Outgoing? {
        if let first = queue.first {
            if case .frame(let delivery) = first {
                // Only an `all` viewer's frames wait in the queue for the window; a `latest` viewer's
                // released frame was checked against it when it was released.
                guard policy == .latest || windowHasRoom else { return nil }
                recordSent(delivery.frame)
            }
            return queue.removeFirst()
        }
        guard let frame = pending, marks.hasRoom, windowHasRoom else { return nil }
        pending = nil
        recordSent(frame)
        return .frame(makeDelivery(frame))
    }

    /// Whether a lossless viewer now holds its publisher back, or no longer does; `nil` when that did
    /// not change. It holds it back above the high-water mark or while frames wait for its ack window,
    /// and releases it once it is down to the low-water mark with no frame waiting.
    mutating func takeStallChange() -> WaterMarks.Change? {
        guard policy == .all else { return nil }
        return marks.takeChange(alsoStalled: !queue.isEmpty)
    }

    private mutating func recordSent(_ frame: Frame) {
        if ackWindow != nil { inFlight.append(frame.header.sequence) }
    }

    private mutating func makeDelivery(_ frame: Frame) -> Delivery {
        defer { droppedSinceDelivery = 0 }
        guard droppedSinceDelivery > 0 else { return Delivery(frame: frame, dropped: nil) }
        return Delivery(frame: frame, dropped: .init(count: droppedSinceDelivery, total: droppedTotal))
    }
}
