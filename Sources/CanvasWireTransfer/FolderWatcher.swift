import CanvasWireCore

#if canImport(Glibc)
import Glibc
#endif

/// Reports PNG files as they are completely written into, or moved into, a folder (inotify
/// `IN_CLOSE_WRITE` and `IN_MOVED_TO`), the way a screenshot folder fills up. No polling.
public final class FolderWatcher: Sendable {
    /// The watched folder, without a trailing slash.
    public let folder: String
    private let descriptor: Int32

    /// Starts watching; files completed from now on are reported, files already there are not.
    public init(folder: String) throws(TransferError) {
        guard InputFiles.isDirectory(folder) else { throw .notAFolderToWatch(folder) }
        let descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0,
            inotify_add_watch(descriptor, folder, UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)) >= 0
        else {
            throw .cannotWatch(folder, code: errno)
        }
        self.folder = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Waits for the next batch of completed `.png` files, in the order the kernel reported them.
    ///
    /// - Throws: `CancellationError` when the calling task is cancelled, ``TransferError`` when the
    ///   watch cannot be read.
    public func nextFiles() async throws -> [String] {
        let descriptor = self.descriptor, folder = self.folder
        return try await BlockingIO.run {
            var names: [String] = []
            while names.isEmpty {
                let events = try BlockingIO.read(descriptor, upTo: 64 << 10, name: folder)
                var offset = 0
                while offset + 16 <= events.count {
                    let nameLength = events.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)) }
                    let nameBytes = events[(offset + 16)..<min(events.count, offset + 16 + nameLength)].prefix { $0 != 0 }
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    if !name.hasPrefix("."), name.lowercased().hasSuffix(".png") { names.append("\(folder)/\(name)") }
                    offset += 16 + nameLength
                }
            }
            return names
        }
    }
}
