#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in the unit of the v1 header's capture-time field, for stamping frames and for
/// measuring capture-to-receipt latency against those stamps.
public enum WallClock {
    /// Microseconds since the Unix epoch.
    public static func microsecondsNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
