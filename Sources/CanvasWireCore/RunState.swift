/// Where a *run* of a stream stands. Each publisher connection starts a new run (or continues an
/// interrupted one with `?run=ID`); viewers learn from the `hello`, `publisher` and `end` messages
/// which run each frame belongs to and whether it is still going (docs/PROTOCOL.md, "Runs").
public enum RunState: String, Codable, Hashable, Sendable {
    /// Its publisher is connected and sending.
    case live
    /// Its publisher sent `end`, or a later run has started: no more frames of it will come.
    case ended
    /// Its publisher left without `end`; it may reconnect and continue the run.
    case interrupted
}
