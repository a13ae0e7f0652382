/// A set of tiles of a ``TileGrid``, one bit each.
///
/// A 1080p frame in 16-pixel tiles has 8,160 tiles: 128 words. Sets of changed tiles are unioned over
/// frames a viewer skipped, so one delta from the newest frame brings it up to date.
public struct TileSet: Hashable, Sendable, Sequence {
    /// How many tiles the set can hold: indices are `0..<capacity`.
    public let capacity: Int
    private var words: [UInt64]

    /// An empty set for a grid of `capacity` tiles.
    public init(capacity: Int) {
        precondition(capacity >= 0, "a tile set's capacity cannot be negative")
        self.capacity = capacity
        words = Array(repeating: 0, count: (capacity + 63) / 64)
    }

    /// An empty set for every tile of `grid`.
    public init(grid: TileGrid) {
        self.init(capacity: grid.tileCount)
    }

    /// The number of tiles in the set.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    public func contains(_ tile: Int) -> Bool {
        precondition(tile >= 0 && tile < capacity, "tile \(tile) is outside 0..<\(capacity)")
        return words[tile / 64] & (1 << UInt64(tile % 64)) != 0
    }

    public mutating func insert(_ tile: Int) {
        precondition(tile >= 0 && tile < capacity, "tile \(tile) is outside 0..<\(capacity)")
        words[tile / 64] |= 1 << UInt64(tile % 64)
    }

    /// Adds every tile of `other`, a set of the same capacity.
    public mutating func formUnion(_ other: TileSet) {
        precondition(other.capacity == capacity, "tile sets of \(capacity) and \(other.capacity) tiles")
        for index in words.indices { words[index] |= other.words[index] }
    }

    public func union(_ other: TileSet) -> TileSet {
        var result = self
        result.formUnion(other)
        return result
    }

    /// Keeps only the tiles also in `other`, a set of the same capacity.
    public mutating func formIntersection(_ other: TileSet) {
        precondition(other.capacity == capacity, "tile sets of \(capacity) and \(other.capacity) tiles")
        for index in words.indices { words[index] &= other.words[index] }
    }

    /// Every tile of the grid that is not in this set.
    public func complement() -> TileSet {
        var result = self
        for index in result.words.indices { result.words[index] = ~result.words[index] }
        // Bits past the last tile stay clear, so `count` and iteration see only real tiles.
        if capacity % 64 != 0, let last = result.words.indices.last {
            result.words[last] &= (1 << UInt64(capacity % 64)) - 1
        }
        return result
    }

    /// Empties the set, keeping its memory.
    public mutating func removeAll() {
        for index in words.indices { words[index] = 0 }
    }

    /// The tiles in ascending order.
    public func makeIterator() -> Iterator { Iterator(words: words) }

    /// Visits set bits only: a mostly empty set of 8,160 tiles costs 128 word tests.
    public struct Iterator: IteratorProtocol {
        private let words: [UInt64]
        private var index = 0
        private var remaining: UInt64

        init(words: [UInt64]) {
            self.words = words
            remaining = words.first ?? 0
        }

        public mutating func next() -> Int? {
            while remaining == 0 {
                index += 1
                guard index < words.count else { return nil }
                remaining = words[index]
            }
            let bit = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return index * 64 + bit
        }
    }
}
