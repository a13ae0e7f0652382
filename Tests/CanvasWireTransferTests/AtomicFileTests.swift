import CanvasWireTransfer
import Foundation
import Glibc
import Testing

@Suite struct AtomicFileTests {
    private func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    @Test(arguments: [false, true])
    func writesCompleteFilesAndLeavesNoTemporaries(durable: Bool) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        try AtomicFile.write(bytes, to: "\(folder)/a.bin", replacing: false, durable: durable)
        try AtomicFile.write([9], to: "\(folder)/a.bin", replacing: true, durable: durable)
        #expect(contents("\(folder)/a.bin") == [9])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["a.bin"])
    }

    @Test func refusesToReplaceAnExistingFileAndLeavesItAsItWas() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/frame-000000.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data("precious".utf8))
        let error = #expect(throws: TransferError.self) {
            try AtomicFile.write([1, 2, 3], to: path, replacing: false, durable: false)
        }
        #expect(error?.systemErrorCode == EEXIST)
        #expect(error?.description == "\(path): already exists; use --overwrite to replace it")
        #expect(contents(path) == Array("precious".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["frame-000000.png"])
    }

    @Test func aStagedFileAppearsOnlyWhenCommittedAndLeavesNothingWhenDropped() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kept = try AtomicFile.stage([1, 2, 3], at: "\(folder)/kept.bin", durable: false)
        var dropped: StagedFile? = try AtomicFile.stage([4, 5], at: "\(folder)/dropped.bin", durable: false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "nothing has a name yet")
        try kept.commit(replacing: false)
        #expect(contents("\(folder)/kept.bin") == [1, 2, 3] && kept.byteCount == 3)
        #expect(dropped?.path == "\(folder)/dropped.bin")
        dropped = nil
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["kept.bin"])
    }

    @Test func aMissingFolderIsNamed() {
        let error = #expect(throws: TransferError.self) {
            try AtomicFile.write([1], to: "/nonexistent-cw-folder/x.png")
        }
        #expect(error?.description.hasPrefix("/nonexistent-cw-folder/x.png: cannot create a file in /nonexistent-cw-folder") == true)
    }
}
