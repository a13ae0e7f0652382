/// Decides, from what a viewer receives, which frames belong to the run a receiver is saving: a
/// receiver that writes a stream to files uses it so that it never writes a frame left over from an
/// earlier run, and stops cleanly when that run is over instead of mixing in the next one.
///
/// Frames belong to the run named by the most recent `hello` or `publisher` message (the server sends
/// the latest frame right after the hello and before the `publisher` message, so the hello describes
/// that frame). A frame of a live run is saved, and the first one fixes the run being saved; a frame
/// of an ended or interrupted run is a leftover snapshot and is skipped. The saved run is over when it
/// ends or when a different run starts. A server that sends no run information (an older one) gets
/// everything saved and ends at its `end` message, as before runs existed.
public struct RunFollower: Sendable {
    public enum Decision: Equatable, Sendable {
        case save
        /// A frame of a run that is not live: a snapshot left from before.
        case skip
        /// The run being saved is over; the receiver stops here.
        case finish
    }

    /// The run the most recent `hello` or `publisher` message named, and its state.
    private var current: (run: String?, state: RunState?) = (nil, nil)
    /// The run whose frames are being saved, once the first one was.
    public private(set) var following: String?

    public init() {}

    public mutating func received(_ hello: ControlMessage.Hello) {
        current = (hello.run, hello.runState)
    }

    /// A `publisher` message: `.finish` when a run other than the one being saved starts.
    public mutating func received(_ publisher: ControlMessage.PublisherState) -> Decision? {
        current = (publisher.run, publisher.runState)
        if let following, publisher.connected, publisher.run != following { return .finish }
        return nil
    }

    /// An `end` message: `.finish` when it ends the run being saved (or, before any frame was saved,
    /// the run that was live).
    public mutating func received(_ end: ControlMessage.End) -> Decision {
        guard let run = end.run else { return .finish }  // a server without runs
        if run == (following ?? current.run) { return .finish }
        return .skip
    }

    /// A frame: save it, or skip a leftover.
    public mutating func receivedFrame() -> Decision {
        switch current.state {
        case nil:
            return .save  // a server without runs
        case .live:
            guard let run = current.run else { return .save }
            if following == nil { following = run }
            return following == run ? .save : .finish
        case .ended, .interrupted:
            return .skip
        }
    }
}
