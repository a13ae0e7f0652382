import CanvasWireCore
import CanvasWireNATS
import NIOCore

/// Asks which nodes watch a stream, when this node is about to start publishing it: they are
/// welcomed before the publisher's first frame, so a lossless viewer that waited on another node for
/// the publisher to arrive gets every frame, as one that waited on this node does.
///
/// A request to the stream's watchers subject: with nobody subscribed, NATS answers "no responders"
/// at once and the publisher waits one round trip; otherwise every watching node answers with its
/// report, and answers are gathered until none has come for ``quiet``.
enum WatcherCensus {
    /// How long to wait for the first answer.
    static let firstAnswer = Duration.seconds(1)
    /// After an answer, how long without another ends the census. Nodes answer as soon as the
    /// request reaches them, within a round trip of each other (well under a millisecond on a LAN).
    static let quiet = Duration.milliseconds(25)
    /// The longest a census takes, however many nodes keep answering.
    static let longest = Duration.milliseconds(250)

    static func take(of name: StreamName, cluster: ClusterContext) async -> [MirrorReport] {
        let inbox = NATSConnection.newInbox()
        guard let answers = try? cluster.nats.subscribe(to: inbox) else { return [] }
        defer { answers.subscription.unsubscribe() }
        let loop = cluster.loop
        let deadline = ContinuousClock.now + longest
        // Ends the iteration below when the wait for the next answer is over.
        var timer = loop.scheduleTask(in: TimeAmount(firstAnswer)) { answers.subscription.unsubscribe() }
        defer { timer.cancel() }
        do {
            try cluster.nats.publish(ByteBuffer(), to: cluster.subjects.watchers(name), replyTo: inbox)
        } catch {
            return []
        }
        var reports: [MirrorReport] = []
        for await answer in answers {
            if answer.headers?.status == 503 { break }  // no responders: nobody watches
            // This node's own feed (it had viewers before it had the publisher) stops as the node
            // takes the stream: it is no watcher.
            if let report = try? ClusterJSON.decode(MirrorReport.self, from: answer.payload), report.node != cluster.nodeName {
                reports.append(report)
            }
            timer.cancel()
            let wait = min(quiet, deadline - .now)
            guard wait > .zero else { break }
            timer = loop.scheduleTask(in: TimeAmount(wait)) { answers.subscription.unsubscribe() }
        }
        return reports
    }
}
