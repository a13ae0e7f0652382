#if canImport(Glibc)
import Glibc
#endif

/// Throughput figures of a transfer, shown as a live line on a terminal and as a final summary.
struct TransferStats {
    let started = ContinuousClock.now
    var frames = 0
    var bytes = 0

    var seconds: Double { inSeconds(ContinuousClock.now - started) }

    var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }
    var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }
}

/// Rewrites one status line on stderr at most a few times a second, only when stdout is a terminal
/// (so pipes and logs stay clean) and `--quiet` was not given.
struct ProgressLine {
    private let enabled: Bool
    private var lastDrawn = ContinuousClock.now - .seconds(1)

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    mutating func update(_ text: @autoclosure () -> String) {
        guard enabled, ContinuousClock.now - lastDrawn >= .milliseconds(250) else { return }
        lastDrawn = .now
        writeStderr("\r\u{1B}[2K" + text())
    }

    func finish() {
        if enabled { writeStderr("\r\u{1B}[2K") }
    }
}

/// A duration as fractional seconds, for rates and reports.
func inSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// `value` with `decimals` digits after the point, for progress lines and summaries.
func rounded(_ value: Double, decimals: Int = 1) -> String {
    let scale = Double((0..<decimals).reduce(1) { value, _ in value * 10 })
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
