#if canImport(Glibc)
import Glibc
#endif

/// This process's own CPU time: the load generator's cost, shown so that it is visibly not the limit.
enum SelfUsage {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Lets glibc keep freed memory instead of returning it to the kernel, so the load generator's
    /// many short-lived frame-sized buffers do not each cost fresh page faults: without it a fifth of
    /// the bench's CPU went to faulting, zeroing and unmapping pages (S2: 10 viewers, 640x360), time
    /// taken from the relay being measured on the same cores. Not applied to a server started as a
    /// child, whose memory is part of what the bench reports.
    static func keepFreedMemory() {
        // <malloc.h> is not part of Swift's Glibc module; mallopt and its parameter numbers come from it.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 1 << 30)
        _ = mallopt(topPad, 64 << 20)
    }

    /// Raises the open-file limit to its hard maximum, for benches with many connections.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
