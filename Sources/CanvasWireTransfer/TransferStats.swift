/// Throughput figures of a transfer, for its progress reports and summary.
struct TransferStats {
    let started = ContinuousClock.now
    var frames = 0
    var bytes = 0

    var seconds: Double { inSeconds(ContinuousClock.now - started) }

    var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }
    var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }
}

/// A duration as fractional seconds, for rates and reports.
func inSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// `value` with `decimals` digits after the point, for progress lines and summaries.
func rounded(_ value: Double, decimals: Int = 1) -> String {
    let scale = Double((0..<decimals).reduce(1) { value, _ in value * 10 })
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
