import CanvasWireCore

/// A connection that receives a stream's frames.
protocol RelayViewer: AnyObject, Sendable {
    var counters: ConnectionCounters { get }
    var policy: DeliveryPolicy { get }
    /// Whether it takes delta frames: while a stream has such viewers it compares each frame with the last.
    var encoding: ViewerEncoding { get }
    /// Hands a frame to the viewer; the viewer applies its policy on its own event loop.
    func deliver(_ frame: Frame)
    /// Hands a control message to the viewer, which sends it after any frame delivered before it.
    func deliver(_ message: ControlMessage)
}

/// A connection that publishes a stream's frames.
protocol RelayPublisher: AnyObject, Sendable {
    var counters: ConnectionCounters { get }
    /// Whether lossless viewers hold the stream back may have changed: the publisher asks
    /// ``RelayStream/publisherMayRead`` on its own event loop and stops or resumes reading to match.
    ///
    /// The publisher is told to look rather than told the answer because these notices come from
    /// every viewer's event loop and can arrive out of order: a "stop" decided on one loop may run
    /// after a "resume" decided later on another, which left a publisher paused for good with no
    /// viewer behind. The stream's state cannot be out of order, so whichever notice runs last reads
    /// the truth.
    func readingConditionChanged()
}
