/// A connection's `bufferedAmount` against two water marks, with hysteresis: what feeds the
/// connection is held back once it is above the high mark and let go only when it has drained to the
/// low mark, so a connection at its limit does not flip between the two at every write.
///
/// Viewers use it inside ``ViewerOutbox`` to hold their publisher back; `/echo` uses it alone to stop
/// reading a peer that sends faster than it reads its echoes.
struct WaterMarks {
    /// A change in whether the connection holds back what feeds it.
    enum Change: Equatable {
        case stalled
        case recovered
    }

    let high: Int
    let low: Int
    /// Bytes handed to the connection and not yet written to its socket.
    private(set) var bufferedAmount = 0
    private(set) var isStalled = false

    init(high: Int, low: Int) {
        self.high = high
        self.low = low
    }

    /// Whether another message may be queued now (a `latest` viewer's test before each frame).
    var hasRoom: Bool { bufferedAmount < high }

    mutating func didQueue(bytes: Int) {
        bufferedAmount += bytes
    }

    mutating func didWrite(bytes: Int) {
        bufferedAmount -= bytes
    }

    /// Whether the connection now holds back what feeds it, or no longer does; `nil` when that did not
    /// change. `alsoStalled` is a second reason to hold back that the marks do not see (a lossless
    /// viewer's frames waiting for its ack window): it stalls at once and delays the recovery.
    mutating func takeChange(alsoStalled: Bool = false) -> Change? {
        if !isStalled, bufferedAmount > high || alsoStalled {
            isStalled = true
            return .stalled
        }
        if isStalled, bufferedAmount <= low, !alsoStalled {
            isStalled = false
            return .recovered
        }
        return nil
    }
}
