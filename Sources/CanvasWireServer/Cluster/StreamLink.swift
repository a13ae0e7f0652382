import CanvasWireCore

/// What the cluster does for one stream on this node: hold it (an ``OriginBridge``) when this node
/// owns its claim, watch it (a ``MirrorFeed``) when the node has viewers and another node holds it,
/// nothing otherwise. Confined to the cluster's event loop.
final class StreamLink {
    let name: StreamName
    /// Whether this node holds the stream's claim.
    var owned = false
    var bridge: OriginBridge?
    var feed: MirrorFeed?
    /// This node's viewers of the stream, and the stream they view.
    var viewers: [ObjectIdentifier: ViewerSession] = [:]
    var stream: RelayStream?

    init(name: StreamName) {
        self.name = name
    }

    var isIdle: Bool { !owned && bridge == nil && feed == nil && viewers.isEmpty }

    /// Brings the bridge and the feed in line with ownership and viewers.
    func reconcile(cluster: ClusterContext) {
        if owned {
            feed?.stop()
            feed = nil
            if bridge == nil {
                let bridge = OriginBridge(name: name, cluster: cluster)
                bridge.start()
                self.bridge = bridge
            }
            return
        }
        bridge?.stop()
        bridge = nil
        guard !viewers.isEmpty, let stream else {
            feed?.stop()
            feed = nil
            return
        }
        if let feed, feed.stream !== stream {
            feed.stop()
            self.feed = nil
        }
        let feed = self.feed ?? {
            let feed = MirrorFeed(stream: stream, cluster: cluster)
            feed.start()
            return feed
        }()
        self.feed = feed
        feed.viewersChanged(lossless: viewers.filter { $0.value.policy == .all })
    }
}
