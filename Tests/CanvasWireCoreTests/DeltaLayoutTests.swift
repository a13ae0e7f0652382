import CanvasWireCore
import Testing

@Suite struct DeltaLayoutTests {
    typealias Rect = DeltaReference.Rect

    /// Writes `layout`'s payload from `frame` into a buffer of exactly its encoded length.
    static func encode(_ layout: DeltaLayout, from frame: [UInt8]) -> [UInt8] {
        var payload = [UInt8](repeating: 0xAA, count: layout.encodedLength)
        frame.withUnsafeBytes { source in payload.withUnsafeMutableBytes { layout.write(from: source, into: $0) } }
        return payload
    }

    static func changedTiles(_ a: [UInt8], _ b: [UInt8], grid: TileGrid) -> TileSet {
        var tiles = TileSet(grid: grid)
        ChangedTilesTests.find(a, b, grid: grid, into: &tiles)
        return tiles
    }

    /// `frame` with a few random rectangles repainted and a few single bytes changed.
    static func nextFrame(after frame: [UInt8], width: Int, height: Int, using random: inout Random) -> [UInt8] {
        var result = ChangedTilesTests.touch(frame, pixels: random.int(in: 0...4), using: &random)
        for rect in DeltaReference.randomRects(width: width, height: height, attempts: random.int(in: 0...3), using: &random) {
            let colour = random.bytes(4)
            for y in rect.y..<rect.y + rect.h {
                for x in rect.x..<rect.x + rect.w { result.replaceSubrange((y * width + x) * 4..<(y * width + x) * 4 + 4, with: colour) }
            }
        }
        return result
    }

    @Test(arguments: 0..<60) func changedTilesEncodedAndAppliedGiveTheNewFrame(seed: Int) throws {
        var random = Random(seed: UInt64(2000 + seed))
        let width = seed % 10 == 0 ? 1 : random.int(in: 1...130)
        let height = seed % 10 == 1 ? 1 : random.int(in: 1...90)
        let grid = TileGrid(frameSize: FrameSize(width: width, height: height), tileSize: [1, 5, 16, 32, 64][seed % 5])
        let old = random.bytes(width * height * 4)
        let new = Self.nextFrame(after: old, width: width, height: height, using: &random)
        let tiles = Self.changedTiles(old, new, grid: grid)
        for merging in [false, true] {
            let layout = try DeltaLayout(tiles: tiles, grid: grid, mergingVertically: merging)
            let payload = Self.encode(layout, from: new)
            #expect(DeltaReference.apply(payload, to: old, width: width, height: height) == new, "reference, merging \(merging)")
            #expect(try DeltaDecoderTests.decode(payload, to: old, width: width, height: height).get() == new, "codec, merging \(merging)")
            // The rectangles cover exactly the changed tiles' pixels.
            let covered = Set(layout.rectangles.flatMap { r in (r.y..<r.y + r.height).flatMap { y in (r.x..<r.x + r.width).map { y * width + $0 } } })
            let tilePixels = Set(tiles.flatMap { tile in
                let r = grid.rectangle(ofTile: tile)
                return (r.y..<r.y + r.height).flatMap { y in (r.x..<r.x + r.width).map { y * width + $0 } }
            })
            #expect(covered == tilePixels)
        }
    }

    @Test(arguments: 0..<20) func aViewerThatSkippedFramesCatchesUpFromTheUnionOfTheirTiles(seed: Int) throws {
        var random = Random(seed: UInt64(3000 + seed))
        let width = random.int(in: 1...120), height = random.int(in: 1...80)
        let grid = TileGrid(frameSize: FrameSize(width: width, height: height), tileSize: [4, 16, 32][seed % 3])
        var frames = [random.bytes(width * height * 4)]
        for _ in 0..<5 { frames.append(Self.nextFrame(after: frames.last!, width: width, height: height, using: &random)) }
        // The sender keeps one tile set per frame pair; a viewer that holds frame 0 needs their union.
        var pending = TileSet(grid: grid)
        for index in 1..<frames.count { pending.formUnion(Self.changedTiles(frames[index - 1], frames[index], grid: grid)) }
        let payload = Self.encode(try DeltaLayout(tiles: pending, grid: grid), from: frames.last!)
        #expect(try DeltaDecoderTests.decode(payload, to: frames[0], width: width, height: height).get() == frames.last!)
        // The finder adds to a set it is given, which gives the same union.
        var accumulated = TileSet(grid: grid)
        for index in 1..<frames.count { ChangedTilesTests.find(frames[index - 1], frames[index], grid: grid, into: &accumulated) }
        #expect(accumulated == pending)
    }

    @Test func runsThatLineUpMergeDownAndOthersDoNot() throws {
        // 4x4 tiles of 10 pixels over a 35x35 frame (the last column and row are 5 pixels).
        let grid = TileGrid(frameSize: FrameSize(width: 35, height: 35), tileSize: 10)
        var tiles = TileSet(grid: grid)
        for tile in [1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13] { tiles.insert(tile) }
        let merged = try DeltaLayout(tiles: tiles, grid: grid)
        #expect(merged.rectangles == [
            DeltaRectangle(x: 10, y: 0, width: 25, height: 30),  // columns 1-3 of rows 0-2
            DeltaRectangle(x: 0, y: 30, width: 20, height: 5),  // columns 0-1 of the clipped bottom row
        ])
        let flat = try DeltaLayout(tiles: tiles, grid: grid, mergingVertically: false)
        #expect(flat.rectangles.count == 4)
        #expect(flat.encodedLength == merged.encodedLength + 2 * DeltaRectangle.headerLength)
        #expect(try DeltaLayout(tiles: TileSet(grid: grid), grid: grid).encodedLength == 4)
    }

    @Test func aPublishersRectanglesAreWrittenAsGiven() throws {
        var random = Random(seed: 77)
        let frame = random.bytes(50 * 20 * 4)
        let rects = [Rect(x: 40, y: 10, w: 10, h: 10), Rect(x: 0, y: 0, w: 3, h: 1), Rect(x: 3, y: 0, w: 1, h: 20)]
        let layout = try DeltaLayout(rectangles: rects.map { DeltaRectangle(x: $0.x, y: $0.y, width: $0.w, height: $0.h) },
                                     frameSize: FrameSize(width: 50, height: 20))
        #expect(Self.encode(layout, from: frame) == DeltaReference.encode(rects, of: frame, width: 50))
    }

    @Test func aPublishersBadRectanglesAreRefusedAsAReceiverWould() {
        let size = FrameSize(width: 50, height: 20)
        let cases: [([DeltaRectangle], String)] = [
            ([DeltaRectangle(x: 0, y: 0, width: 10, height: 10), DeltaRectangle(x: 9, y: 9, width: 1, height: 1)],
             "delta rectangle 1 (x 9, y 9, 1x1) overlaps an earlier rectangle at pixel (9, 9)"),
            ([DeltaRectangle(x: 45, y: 0, width: 6, height: 1)], "delta rectangle 0 (x 45, w 6) extends past the frame's width 50"),
            ([DeltaRectangle(x: -1, y: 0, width: 1, height: 1)], "delta rectangle 0 (x -1, w 1) extends past"),
            ([DeltaRectangle(x: 0, y: 0, width: 1, height: 0)], "delta rectangle 0 is 1x0"),
        ]
        for (rectangles, message) in cases {
            let error = #expect(throws: FrameError.self) { try DeltaLayout(rectangles: rectangles, frameSize: size) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "accepted")")
        }
    }

    @Test func framesWiderThanSixteenBitsCannotBeLaidOut() {
        let grid = TileGrid(frameSize: FrameSize(width: 65536, height: 1), tileSize: 64)
        #expect(throws: FrameError.self) { try DeltaLayout(tiles: TileSet(grid: grid), grid: grid) }
        #expect(throws: FrameError.self) { try DeltaLayout(rectangles: [], frameSize: FrameSize(width: 1, height: 65536)) }
        #expect(throws: Never.self) { try DeltaLayout(rectangles: [], frameSize: FrameSize(width: 65535, height: 65535)) }
    }
}
