/// Who holds a stream's claim on this node: a publisher connection (or the demo stream), and how to
/// make it stop if another node takes the stream over while this node was cut off from NATS.
struct ClaimToken: Sendable {
    let id: ObjectIdentifier
    /// Called with the reason when the claim was lost; the holder closes its publisher.
    let revoke: @Sendable (String) -> Void

    init(_ holder: AnyObject, revoke: @escaping @Sendable (String) -> Void) {
        self.id = ObjectIdentifier(holder)
        self.revoke = revoke
    }
}
