import CanvasWireCore

/// The runs of one stream: each publisher connection starts one, or continues the current run if that
/// was interrupted and the publisher names it (`?run=ID`, after a dropped connection). It also
/// remembers which run the retained frame came from, so a viewer can tell a live frame from a
/// snapshot left by an earlier run. Pure bookkeeping, kept under ``RelayStream``'s lock.
struct StreamRuns {
    /// The latest run and where it stands; `nil` until a publisher first connects.
    private(set) var current: (id: String, state: RunState)?
    /// The run the retained frame was published in.
    private(set) var latestFrameRun: String?

    /// A publisher connected: continues `continuing` if it is the interrupted current run, otherwise
    /// starts a new run with `newID`.
    mutating func publisherAttached(continuing: String?, newID: () -> String) -> (id: String, continued: Bool) {
        if let current, current.id == continuing, current.state == .interrupted {
            self.current = (current.id, .live)
            return (current.id, true)
        }
        let id = newID()
        current = (id, .live)
        return (id, false)
    }

    /// The publisher left: a run it did not end is interrupted (and may continue).
    mutating func publisherDetached() {
        if let current, current.state == .live { self.current = (current.id, .interrupted) }
    }

    /// The publisher sent `end`: its run is over.
    mutating func ended() -> String? {
        guard let current else { return nil }
        self.current = (current.id, .ended)
        return current.id
    }

    mutating func framePublished() {
        latestFrameRun = current?.id
    }

    /// The retained frame came from run `run` elsewhere (a cluster node's snapshot).
    mutating func frameAdopted(run: String?) {
        latestFrameRun = run
    }

    /// The state of the retained frame's run: a run that is no longer the current one has ended.
    var latestFrameRunState: RunState? {
        guard let latestFrameRun else { return nil }
        return latestFrameRun == current?.id ? current?.state : .ended
    }

    /// The `publisher` message that tells viewers about the current run.
    func publisherMessage(connected: Bool, continued: Bool? = nil) -> ControlMessage.PublisherState {
        .init(connected: connected, run: current?.id, runState: current?.state, continued: continued)
    }
}
