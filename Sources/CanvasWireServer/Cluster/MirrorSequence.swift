/// The receiving node's side of item numbering for one stream: which epoch it follows, the last
/// item it accepted, and what a missing number means.
///
/// Lossless viewers must never skip: at a gap the node holds everything back and asks the origin
/// for the missing items. Live (`latest`) viewers want the newest frame: the node delivers it at
/// once and only asks the origin to bring its state up to date (a lost control message). Pure.
struct MirrorSequence {
    enum Decision: Equatable {
        /// The next item in order.
        case deliver
        /// Newer than the next one, and gaps are not held: deliver it, then ask for a welcome.
        case deliverAfterGap
        /// Newer than the next one, for a node that holds gaps: ask for items from `from` on.
        case gap(from: UInt64)
        /// A gap is being filled: drop this item, the resend brings it again.
        case holding
        /// Already accepted (a resend that crossed a live copy): drop it.
        case duplicate
        /// From an epoch this node has not been welcomed to: ask the origin for a welcome.
        case foreignEpoch
    }

    private(set) var epoch: UInt64?
    /// The last item accepted in ``epoch``.
    private(set) var last: UInt64 = 0
    /// The first missing item, while a resend is awaited.
    private(set) var awaitingFrom: UInt64?

    /// A welcome: follow `epoch` from `anchor` on. Returns whether nothing was missed, that is, the
    /// welcome continues exactly where this node was in the same epoch.
    mutating func welcome(epoch: UInt64, anchor: UInt64) -> Bool {
        let continuous = self.epoch == epoch && anchor == last && awaitingFrom == nil
        self.epoch = epoch
        last = anchor
        awaitingFrom = nil
        return continuous
    }

    /// Decides what to do with item `number` of `epoch`.
    ///
    /// - Parameter holdGaps: Whether the node has lossless viewers.
    mutating func accept(epoch: UInt64, number: UInt64, holdGaps: Bool) -> Decision {
        guard epoch == self.epoch else { return .foreignEpoch }
        guard number > last else { return .duplicate }
        if number == last + 1 {
            last = number
            awaitingFrom = nil
            return .deliver
        }
        guard holdGaps else {
            last = number
            return .deliverAfterGap
        }
        guard awaitingFrom == nil else { return .holding }
        awaitingFrom = last + 1
        return .gap(from: last + 1)
    }

    /// The origin's heartbeat says it published up to `lastPublished`: items at the end were lost
    /// when that is beyond what this node has.
    mutating func beat(epoch: UInt64, lastPublished: UInt64, holdGaps: Bool) -> Decision? {
        guard epoch == self.epoch else { return .foreignEpoch }
        guard lastPublished > last, awaitingFrom == nil else { return nil }
        guard holdGaps else { return .deliverAfterGap }
        awaitingFrom = last + 1
        return .gap(from: last + 1)
    }
}
