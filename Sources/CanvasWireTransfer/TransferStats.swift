/// Throughput figures of a transfer, for its progress reports and summary.
struct TransferStats {
    let started = ContinuousClock.now
    var frames = 0
    var bytes = 0

    var seconds: Double { (ContinuousClock.now - started) / .seconds(1) }

    var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }
    var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }
}

