#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new one, never a partial one.
///
/// On Linux the bytes go to an unnamed file in the target's folder (`O_TMPFILE`) and only get a name
/// once complete, so a kill at any moment leaves nothing behind: no partial file and no stray
/// temporary. With `durable`, the file is also flushed with `fsync` before it is named, so it survives
/// a power loss too. Where `O_TMPFILE` is unsupported, a hidden temporary file is renamed into place
/// instead. On any error the target is left as it was.
///
/// Writing is two steps, ``stage(_:at:durable:)`` and ``StagedFile/commit(replacing:)``, so that a
/// receiver can write many files at once and still decide, in order, which of them get a name.
public enum AtomicFile {
    /// `O_TMPFILE` from Linux's fcntl.h, which Swift does not import because it is a compound macro.
    private static let unnamedFileFlag: Int32 = 0o20_000_000 | O_DIRECTORY

    /// Stages and commits in one go.
    ///
    /// - Parameters:
    ///   - bytes: The file's complete contents.
    ///   - path: Where the file gets its name; its folder must exist.
    ///   - replacing: Whether an existing file at `path` may be replaced. When it may not, the file is
    ///     linked into place, which fails atomically with `EEXIST` instead of overwriting.
    ///   - durable: Whether to `fsync` the file and its folder. A killed process never leaves a partial
    ///     file either way; durability against power loss costs a disk flush per file.
    public static func write(
        _ bytes: [UInt8], to path: String, replacing: Bool = true, durable: Bool = true
    ) throws(TransferError) {
        try stage(bytes, at: path, durable: durable).commit(replacing: replacing)
    }

    /// Writes the complete contents (and flushes them with `durable`) without giving them a name yet;
    /// nothing appears at `path` until ``StagedFile/commit(replacing:)``, and a staged file that is
    /// dropped uncommitted leaves nothing behind.
    ///
    /// - Throws: ``TransferError`` naming `path`: a missing folder, a full disk, no permission.
    public static func stage(_ bytes: [UInt8], at path: String, durable: Bool) throws(TransferError) -> StagedFile {
        let folder: String
        let name: String
        if let slash = path.lastIndex(of: "/") {
            folder = slash == path.startIndex ? "/" : String(path[..<slash])
            name = String(path[path.index(after: slash)...])
        } else {
            folder = "."
            name = path
        }
        guard !name.isEmpty else { throw .writeFailed(path, operation: "write to a folder", code: EISDIR) }
        let hiddenTemplate = (folder == "/" ? "/" : folder + "/") + ".\(name).tmp-XXXXXX"
        let location = StagedFile.Location(path: path, folder: folder, hiddenTemplate: hiddenTemplate)

        let unnamed = open(folder, unnamedFileFlag | O_WRONLY | O_CLOEXEC, 0o666)
        if unnamed >= 0 {
            do throws(TransferError) {
                try writeAll(bytes, to: unnamed, path: path)
                if durable, fsync(unnamed) != 0 { throw .writeFailed(path, operation: "flush to disk", code: errno) }
            } catch {
                close(unnamed)
                throw error
            }
            return StagedFile(location, contents: .unnamed(descriptor: unnamed), byteCount: bytes.count, durable: durable)
        } else if [EOPNOTSUPP, EISDIR, EINVAL].contains(errno) {
            let temporary = try writeTemporary(bytes, template: hiddenTemplate, path: path, durable: durable)
            return StagedFile(location, contents: .temporary(path: temporary), byteCount: bytes.count, durable: durable)
        } else {
            throw .writeFailed(path, operation: "create a file in \(folder)", code: errno)
        }
    }

    /// A hidden temporary file with the complete contents, closed; removed again on any error.
    private static func writeTemporary(
        _ bytes: [UInt8], template hiddenTemplate: String, path: String, durable: Bool
    ) throws(TransferError) -> String {
        var template = hiddenTemplate.utf8CString
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw .writeFailed(path, operation: "create a temporary file", code: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var isOpen = true
        do throws(TransferError) {
            // mkstemp creates the file 0600; give it the mode a plain create would, 0666 less the umask.
            let mask = umask(0)
            umask(mask)
            if fchmod(descriptor, 0o666 & ~mask) != 0 {
                throw .writeFailed(path, operation: "set permissions", code: errno)
            }
            try writeAll(bytes, to: descriptor, path: path)
            if durable, fsync(descriptor) != 0 { throw .writeFailed(path, operation: "flush to disk", code: errno) }
            isOpen = false
            if close(descriptor) != 0 { throw .writeFailed(path, operation: "close", code: errno) }
            return temporary
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
    }

    /// Writes every byte to an open descriptor (stdout, a pipe), retrying short writes and interruptions.
    ///
    /// - Parameter path: Names the destination in an error message.
    public static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(TransferError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                posixWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path, operation: "write", code: errno)
            }
            written += result
        }
    }
}

/// `write(2)`, reachable from inside ``AtomicFile`` whose own `write` would otherwise shadow it.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
