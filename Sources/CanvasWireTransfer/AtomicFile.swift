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
public enum AtomicFile {
    /// `O_TMPFILE` from Linux's fcntl.h, which Swift does not import because it is a compound macro.
    private static let unnamedFileFlag: Int32 = 0o20_000_000 | O_DIRECTORY

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

        let unnamed = open(folder, unnamedFileFlag | O_WRONLY | O_CLOEXEC, 0o666)
        if unnamed >= 0 {
            try writeUnnamed(bytes, descriptor: unnamed, path: path, hiddenTemplate: hiddenTemplate, replacing: replacing, durable: durable)
        } else if [EOPNOTSUPP, EISDIR, EINVAL].contains(errno) {
            try writeThroughTemporary(bytes, template: hiddenTemplate, path: path, replacing: replacing, durable: durable)
        } else {
            throw .writeFailed(path, operation: "create a file in \(folder)", code: errno)
        }
        guard durable else { return }
        // Make the new name durable; a failure here cannot un-write the file, so it is not an error.
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    private static func writeUnnamed(
        _ bytes: [UInt8], descriptor: Int32, path: String, hiddenTemplate: String, replacing: Bool, durable: Bool
    ) throws(TransferError) {
        defer { close(descriptor) }
        try writeAll(bytes, to: descriptor, path: path)
        if durable, fsync(descriptor) != 0 { throw .writeFailed(path, operation: "flush to disk", code: errno) }
        let handle = "/proc/self/fd/\(descriptor)"
        if !replacing {
            if linkat(AT_FDCWD, handle, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0 {
                throw .writeFailed(path, operation: "link into place", code: errno)
            }
            return
        }
        // rename() is what replaces atomically, and it needs a name to start from.
        var template = hiddenTemplate.utf8CString
        let placeholder = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard placeholder >= 0 else { throw .writeFailed(path, operation: "create a temporary name", code: errno) }
        close(placeholder)
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        unlink(temporary)
        guard linkat(AT_FDCWD, handle, AT_FDCWD, temporary, AT_SYMLINK_FOLLOW) == 0 else {
            throw .writeFailed(path, operation: "link into place", code: errno)
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw .writeFailed(path, operation: "rename into place", code: code)
        }
    }

    private static func writeThroughTemporary(
        _ bytes: [UInt8], template hiddenTemplate: String, path: String, replacing: Bool, durable: Bool
    ) throws(TransferError) {
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
            if replacing {
                if rename(temporary, path) != 0 { throw .writeFailed(path, operation: "rename into place", code: errno) }
            } else {
                if link(temporary, path) != 0 { throw .writeFailed(path, operation: "link into place", code: errno) }
                unlink(temporary)
            }
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
