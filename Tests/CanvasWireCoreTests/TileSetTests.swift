import CanvasWireCore
import Testing

@Suite struct TileSetTests {
    @Test(arguments: [0, 1, 63, 64, 65, 2040]) func behavesLikeASetOfIntegers(capacity: Int) {
        var random = Random(seed: UInt64(capacity))
        var tiles = TileSet(capacity: capacity)
        var model = Set<Int>()
        for _ in 0..<(capacity / 3) {
            let tile = random.int(in: 0...capacity - 1)
            tiles.insert(tile)
            model.insert(tile)
        }
        #expect(tiles.count == model.count)
        #expect(tiles.isEmpty == model.isEmpty)
        #expect(Array(tiles) == model.sorted())
        for tile in 0..<capacity { #expect(tiles.contains(tile) == model.contains(tile)) }
    }

    @Test func unionHoldsTheTilesOfBoth() {
        var a = TileSet(capacity: 130)
        var b = TileSet(capacity: 130)
        for tile in [0, 63, 64, 129] { a.insert(tile) }
        for tile in [1, 64, 100] { b.insert(tile) }
        #expect(Array(a.union(b)) == [0, 1, 63, 64, 100, 129])
        a.formUnion(b)
        #expect(a.count == 6)
        a.removeAll()
        #expect(a.isEmpty && a.count == 0 && Array(a).isEmpty && a.capacity == 130)
    }

    @Test(arguments: [1, 63, 64, 65, 130]) func theComplementHoldsEveryOtherTileAndNoneBeyond(capacity: Int) {
        var tiles = TileSet(capacity: capacity)
        for tile in stride(from: 0, to: capacity, by: 3) { tiles.insert(tile) }
        let complement = tiles.complement()
        #expect(Array(complement) == (0..<capacity).filter { $0 % 3 != 0 })
        #expect(complement.count + tiles.count == capacity, "no bit past the last tile")
        #expect(tiles.union(complement).count == capacity)
    }

    @Test func intersectionKeepsTheTilesInBoth() {
        var a = TileSet(capacity: 130)
        var b = TileSet(capacity: 130)
        for tile in [0, 63, 64, 129] { a.insert(tile) }
        for tile in [1, 64, 129] { b.insert(tile) }
        a.formIntersection(b)
        #expect(Array(a) == [64, 129])
    }

    @Test func aRectangleTouchesEveryTileItReachesIntoEvenByOnePixel() {
        let grid = TileGrid(frameSize: FrameSize(width: 50, height: 20), tileSize: 16)  // 4 x 2 tiles
        var tiles = TileSet(grid: grid)
        grid.insertTiles(touching: DeltaRectangle(x: 15, y: 15, width: 2, height: 2), into: &tiles)
        #expect(Array(tiles) == [0, 1, 4, 5])
        tiles.removeAll()
        grid.insertTiles(touching: DeltaRectangle(x: 48, y: 16, width: 2, height: 4), into: &tiles)
        #expect(Array(tiles) == [7], "the clipped corner tile")
        tiles.removeAll()
        grid.insertTiles(touching: DeltaRectangle(x: 0, y: 0, width: 50, height: 20), into: &tiles)
        #expect(tiles.count == grid.tileCount)
    }

    @Test func aGridsSetHasOneBitPerTile() {
        let grid = TileGrid(frameSize: FrameSize(width: 1920, height: 1080), tileSize: 32)
        #expect(grid.columns == 60 && grid.rows == 34)
        #expect(TileSet(grid: grid).capacity == 2040)
        // The bottom row of tiles is clipped to the frame: 1080 = 33 * 32 + 24.
        #expect(grid.rectangle(ofTile: 2039) == DeltaRectangle(x: 1888, y: 1056, width: 32, height: 24))
        let odd = TileGrid(frameSize: FrameSize(width: 5, height: 1), tileSize: 3)
        #expect(odd.tileCount == 2 && odd.rectangle(ofTile: 1) == DeltaRectangle(x: 3, y: 0, width: 2, height: 1))
    }
}
