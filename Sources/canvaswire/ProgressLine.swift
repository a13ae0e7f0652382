import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Rewrites one status line on stderr at most four times a second, only when stdout is a terminal
/// (so pipes and logs stay clean) and `--quiet` was not given.
final class ProgressLine: Sendable {
    private let enabled: Bool
    private let lastDrawn = Mutex(ContinuousClock.now - .seconds(1))

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let due = lastDrawn.withLock { last in
            guard ContinuousClock.now - last >= .milliseconds(250) else { return false }
            last = .now
            return true
        }
        if due { writeStderr("\r\u{1B}[2K" + text()) }
    }

    func finish() {
        if enabled { writeStderr("\r\u{1B}[2K") }
    }
}

/// Writes to stderr unbuffered, so messages interleave with the progress line in order.
func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
