import NIOCore

/// Closes a connection that has not sent a complete request (head and body) in time, or that sits
/// idle between keep-alive requests for as long, so half-open handshakes cannot pile up. Confined to
/// the channel's event loop.
final class HandshakeDeadline: @unchecked Sendable {
    private let timeout: TimeAmount
    private var task: Scheduled<Void>?

    init(channel: any Channel, timeout: TimeAmount) {
        self.timeout = timeout
        restart(channel: channel)
    }

    /// Starts the deadline again from now.
    func restart(channel: any Channel) {
        task?.cancel()
        task = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func cancel() {
        task?.cancel()
        task = nil
    }
}
