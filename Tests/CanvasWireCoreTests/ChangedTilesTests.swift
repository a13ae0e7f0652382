import CanvasWireCore
import Testing

@Suite struct ChangedTilesTests {
    /// Finds the changed tiles between two frames with the codec.
    static func find(_ a: [UInt8], _ b: [UInt8], grid: TileGrid, into tiles: inout TileSet) {
        a.withUnsafeBytes { old in b.withUnsafeBytes { new in grid.insertChangedTiles(from: old, to: new, into: &tiles) } }
    }

    /// `frame` with a few random pixels changed, each in one random byte (so single-byte differences
    /// at every position within a word are found).
    static func touch(_ frame: [UInt8], pixels: Int, using random: inout Random) -> [UInt8] {
        var result = frame
        for _ in 0..<pixels {
            let byte = random.int(in: 0...frame.count - 1)
            result[byte] &+= UInt8(random.int(in: 1...255))
        }
        return result
    }

    @Test(arguments: 0..<60) func findsExactlyTheTilesTheReferenceFinds(seed: Int) {
        var random = Random(seed: UInt64(1000 + seed))
        let width = seed % 10 == 0 ? 1 : random.int(in: 1...150)
        let height = seed % 10 == 1 ? 1 : random.int(in: 1...90)
        let tileSize = [1, 3, 7, 16, 32, 64][seed % 6]
        let old = random.bytes(width * height * 4)
        let new = Self.touch(old, pixels: random.int(in: 0...12), using: &random)
        let grid = TileGrid(frameSize: FrameSize(width: width, height: height), tileSize: tileSize)
        var tiles = TileSet(grid: grid)
        Self.find(old, new, grid: grid, into: &tiles)
        #expect(Set(tiles) == DeltaReference.changedTiles(old, new, width: width, height: height, tileSize: tileSize),
                "\(width)x\(height) in tiles of \(tileSize)")
    }

    @Test(arguments: 0..<30) func amongCandidatesFindsTheChangedCandidatesOnly(seed: Int) {
        var random = Random(seed: UInt64(3000 + seed))
        let width = random.int(in: 1...120)
        let height = random.int(in: 1...70)
        let tileSize = [1, 7, 16][seed % 3]
        let old = random.bytes(width * height * 4)
        let new = Self.touch(old, pixels: random.int(in: 0...40), using: &random)
        let grid = TileGrid(frameSize: FrameSize(width: width, height: height), tileSize: tileSize)
        var candidates = TileSet(grid: grid)
        for tile in 0..<grid.tileCount where random.int(in: 0...2) == 0 { candidates.insert(tile) }
        var tiles = TileSet(grid: grid)
        let earlier = random.int(in: 0...grid.tileCount - 1)
        tiles.insert(earlier)  // found for an earlier frame: kept, whether a candidate or not
        old.withUnsafeBytes { a in new.withUnsafeBytes { b in grid.insertChangedTiles(from: a, to: b, into: &tiles, among: candidates) } }
        let changed = DeltaReference.changedTiles(old, new, width: width, height: height, tileSize: tileSize)
        #expect(Set(tiles) == changed.intersection(Set(candidates)).union([earlier]),
                "\(width)x\(height) in tiles of \(tileSize)")
    }

    @Test func everyTileOfEntirelyDifferentFramesIsFound() {
        var random = Random(seed: 5)
        let old = random.bytes(100 * 37 * 4)
        let new = old.map { $0 ^ 0x80 }
        let grid = TileGrid(frameSize: FrameSize(width: 100, height: 37), tileSize: 16)
        var tiles = TileSet(grid: grid)
        Self.find(old, new, grid: grid, into: &tiles)
        #expect(tiles.count == grid.tileCount)
    }

    @Test func identicalFramesHaveNoChangedTiles() {
        let frame = [UInt8](repeating: 9, count: 33 * 33 * 4)
        let grid = TileGrid(frameSize: FrameSize(width: 33, height: 33), tileSize: 8)
        var tiles = TileSet(grid: grid)
        Self.find(frame, frame, grid: grid, into: &tiles)
        #expect(tiles.isEmpty)
    }

    @Test func aDifferenceInTheLastByteOfTheLastTileIsFound() {
        let old = [UInt8](repeating: 0, count: 45 * 19 * 4)
        var new = old
        new[new.count - 1] = 1
        let grid = TileGrid(frameSize: FrameSize(width: 45, height: 19), tileSize: 16)
        var tiles = TileSet(grid: grid)
        Self.find(old, new, grid: grid, into: &tiles)
        #expect(Array(tiles) == [grid.tileCount - 1])
    }
}
