/// Which server to try next and how long to wait first: round robin over the URLs, no wait for
/// the first attempt after a loss, then a capped exponential delay with jitter.
struct ReconnectBackoff {
    let serverCount: Int
    let initialDelay: Duration
    let maxDelay: Duration
    /// Attempts that failed since the last successful connection.
    private(set) var failures = 0
    private var nextServer = 0

    init(serverCount: Int, initialDelay: Duration, maxDelay: Duration) {
        precondition(serverCount > 0)
        self.serverCount = serverCount
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The next attempt: the index of its server and the wait before it.
    ///
    /// - Parameter jitter: A random number in `0...1`; the delay is shortened by up to half of it.
    mutating func nextAttempt(jitter: Double) -> (server: Int, delay: Duration) {
        let server = nextServer
        nextServer = (nextServer + 1) % serverCount
        guard failures > 0 else { return (server, .zero) }
        let doublings = min(failures - 1, 30)
        let full = min(maxDelay, initialDelay * (1 << doublings))
        return (server, full * (1 - 0.5 * min(max(jitter, 0), 1)))
    }

    mutating func failed() { failures += 1 }

    /// After a connection to `server`: the next loss starts over, without delay, at the server after it.
    mutating func connected(to server: Int) {
        failures = 0
        nextServer = (server + 1) % serverCount
    }
}
