import Synchronization

/// Samples the server's resident memory every 20 ms while a run is in progress.
final class RSSSampler: Sendable {
    let stats: ProcessStats?
    private let maximum = Mutex<Int?>(nil)

    init(stats: ProcessStats?) {
        self.stats = stats
    }

    var peak: Int? { maximum.withLock { $0 } }

    func sampling<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let stats else { return try await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if let rss = stats.residentBytes { self.maximum.withLock { $0 = max($0 ?? 0, rss) } }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            group.addTask { try await body() }
            var value: T?
            while let result = try await group.next() {
                if let result {
                    value = result
                    group.cancelAll()
                }
            }
            return value!
        }
    }
}
