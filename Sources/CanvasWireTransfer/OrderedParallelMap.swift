/// Runs `transform` on up to `width` inputs at once, on any cores, and hands the results to `consume`
/// strictly in input order.
///
/// At most `width` inputs are in flight and at most `width` results wait for their turn, so memory stays
/// bounded however long the input is; a slow `consume` stops the reading of further input. The input is
/// read in its own child task, so a source that waits (a watched folder) never holds back results that
/// are ready. `consume` returns `false` to stop early; the remaining work is cancelled.
///
/// The sender decodes PNGs with it and the receiver encodes them, so frames are coded on every core
/// while they still leave in their original order.
public func orderedParallelMap<Source: AsyncSequence, Output: Sendable>(
    _ input: Source,
    width: Int,
    transform: @escaping @Sendable (Source.Element) async throws -> Output,
    consume: (Output) async throws -> Bool
) async throws where Source.Element: Sendable, Source.AsyncIterator: SendableMetatype {
    typealias Event = ParallelMapEvent<Source.Element, Output>
    let reader = IteratorBox(input.makeAsyncIterator())
    try await withThrowingTaskGroup(of: Event.self) { group in
        var nextIndex = 0, emitIndex = 0
        var reading = false, exhausted = false
        var ready: [Int: Output] = [:]
        func readMoreIfRoom() {
            if !exhausted, !reading, nextIndex - emitIndex < width {
                reading = true
                group.addTask { .input(try await reader.next()) }
            }
        }
        readMoreIfRoom()
        while let event = try await group.next() {
            switch event {
            case .input(let value?):
                reading = false
                let index = nextIndex
                nextIndex += 1
                group.addTask { .output(index, try await transform(value)) }
            case .input(nil):
                reading = false
                exhausted = true
            case .output(let index, let value):
                ready[index] = value
                while let value = ready.removeValue(forKey: emitIndex) {
                    emitIndex += 1
                    guard try await consume(value) else {
                        group.cancelAll()
                        return
                    }
                }
            }
            readMoreIfRoom()
        }
    }
}

/// What a child task of ``orderedParallelMap(_:width:transform:consume:)`` finished with.
private enum ParallelMapEvent<Input: Sendable, Output: Sendable>: Sendable {
    case input(Input?)
    case output(Int, Output)
}

/// Lets one child task at a time advance the iterator. The task group orders those tasks (a new read
/// starts only after the previous one has returned), which is what makes the unchecked conformance safe.
private final class IteratorBox<Iterator: AsyncIteratorProtocol>: @unchecked Sendable where Iterator.Element: Sendable {
    private var iterator: Iterator

    init(_ iterator: Iterator) { self.iterator = iterator }

    func next() async throws -> Iterator.Element? { try await iterator.next() }
}
