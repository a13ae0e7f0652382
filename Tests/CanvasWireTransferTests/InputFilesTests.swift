import CanvasWireTransfer
import Foundation
import Testing

@Suite struct InputFilesTests {
    @Test func naturalOrderComparesNumbersByValue() {
        let names = ["frame10.png", "frame2.png", "frame1.png", "frame02b.png", "Frame3.png", "frame.png"]
        #expect(names.sorted(by: InputFiles.naturalOrder)
            == ["Frame3.png", "frame.png", "frame1.png", "frame2.png", "frame02b.png", "frame10.png"])
    }

    @Test func foldersGivePNGsInNaturalOrderAndGlobsAreExpanded() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in ["f10.png", "f2.png", "f1.PNG", ".hidden.png", "notes.txt"] {
            _ = FileManager.default.createFile(atPath: "\(folder)/\(name)", contents: Data([1]))
        }
        #expect(try InputFiles.expand([folder]) == ["\(folder)/f1.PNG", "\(folder)/f2.png", "\(folder)/f10.png"])
        #expect(try InputFiles.expand(["\(folder)/f*.png"]) == ["\(folder)/f2.png", "\(folder)/f10.png"])
        let source = try FrameSource.inputs([folder])
        #expect(source.count == 3)
    }

    @Test func namesTheArgumentThatCannotBeRead() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = #expect(throws: TransferError.self) { try InputFiles.expand(["\(folder)/nope.png"]) }
        #expect(missing?.description == "\(folder)/nope.png: No such file or directory")
        let unmatched = #expect(throws: TransferError.self) { try InputFiles.expand(["\(folder)/*.png"]) }
        #expect(unmatched?.description == "\(folder)/*.png: no files match this pattern")
    }
}
