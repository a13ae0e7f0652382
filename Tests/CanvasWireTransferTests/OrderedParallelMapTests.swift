import CanvasWireTransfer
import Synchronization
import Testing

@Suite struct OrderedParallelMapTests {
    /// Counts what is in flight, and the most that ever was.
    final class Gauge: Sendable {
        private let state = Mutex((now: 0, peak: 0))
        var peak: Int { state.withLock { $0.peak } }

        func enter() {
            state.withLock { state in
                state.now += 1
                state.peak = max(state.peak, state.now)
            }
        }

        func leave() { state.withLock { $0.now -= 1 } }
    }

    @Test func resultsLeaveInInputOrderWhateverOrderTheyFinishIn() async throws {
        var consumed: [Int] = []
        try await orderedParallelMap(
            AsyncThrowingStream { continuation in
                for value in 0..<200 { continuation.yield(value) }
                continuation.finish()
            },
            width: 8,
            transform: { value in
                // Later inputs tend to finish first.
                try await Task.sleep(for: .microseconds((200 - value) % 13 * 100))
                return value * 2
            },
            consume: { value in
                consumed.append(value)
                return true
            }
        )
        #expect(consumed == (0..<200).map { $0 * 2 })
    }

    @Test(arguments: [1, 3])
    func neverHasMoreThanWidthInputsInFlightOrWaiting(width: Int) async throws {
        let transforms = Gauge()
        let pulled = Atomic(0)
        let source = AsyncThrowingStream<Int, any Error> {
            let next = pulled.add(1, ordering: .relaxed).newValue - 1
            return next < 100 ? next : nil
        }
        var consumed = 0
        var worstLead = 0
        try await orderedParallelMap(
            source,
            width: width,
            transform: { value in
                transforms.enter()
                defer { transforms.leave() }
                try await Task.sleep(for: .microseconds(value % 5 * 200))
                return value
            },
            consume: { value in
                #expect(value == consumed)
                consumed += 1
                // A slow consumer: the reader must not run ahead of it by more than `width`.
                try await Task.sleep(for: .microseconds(300))
                worstLead = max(worstLead, min(pulled.load(ordering: .relaxed), 100) - consumed)
                return true
            }
        )
        #expect(consumed == 100)
        #expect(transforms.peak <= width)
        #expect(worstLead <= width)
    }

    @Test func stopsReadingWhenConsumeSaysSo() async throws {
        let pulled = Atomic(0)
        let endless = AsyncThrowingStream<Int, any Error> { pulled.add(1, ordering: .relaxed).newValue }
        var consumed: [Int] = []
        try await orderedParallelMap(endless, width: 4, transform: { $0 }, consume: { value in
            consumed.append(value)
            return consumed.count < 10
        })
        #expect(consumed == Array(1...10))
        #expect(pulled.load(ordering: .relaxed) <= 10 + 4 + 1)
    }
}
