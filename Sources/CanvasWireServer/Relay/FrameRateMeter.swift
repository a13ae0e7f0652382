/// Frames per second over the last two seconds, from the arrival times of recent frames.
struct FrameRateMeter {
    private static let window = Duration.seconds(2)
    private static let capacity = 256
    private var arrivals: [ContinuousClock.Instant] = []

    mutating func record(_ instant: ContinuousClock.Instant) {
        arrivals.append(instant)
        if arrivals.count > Self.capacity { arrivals.removeFirst(arrivals.count - Self.capacity) }
    }

    /// Zero once no frame has arrived for the whole window.
    func framesPerSecond(at now: ContinuousClock.Instant) -> Double {
        guard let start = arrivals.firstIndex(where: { now - $0 <= Self.window }) else { return 0 }
        let count = arrivals.count - start
        let span = now - arrivals[start]
        let seconds = span / .seconds(1)
        return count >= 2 && seconds > 0 ? Double(count - 1) / seconds : 0
    }
}
