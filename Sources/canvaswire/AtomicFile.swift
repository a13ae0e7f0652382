#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new one, never a partial one.
///
/// The bytes go to a temporary file in the same folder (so the rename stays on one file system), are
/// flushed with `fsync`, and the temporary file is renamed over the target. On any error the temporary
/// file is removed and the target is left as it was.
enum AtomicFile {
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var operation: String
        var code: Int32

        var description: String {
            "\(path): cannot \(operation): \(String(cString: strerror(code)))"
        }
    }

    static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        let folder: String
        let name: String
        if let slash = path.lastIndex(of: "/") {
            folder = slash == path.startIndex ? "/" : String(path[..<slash])
            name = String(path[path.index(after: slash)...])
        } else {
            folder = "."
            name = path
        }
        guard !name.isEmpty else { throw WriteError(path: path, operation: "write to a folder", code: EISDIR) }

        var template = ((folder == "/" ? "/" : folder + "/") + ".\(name).tmp-XXXXXX").utf8CString
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw WriteError(path: path, operation: "create a temporary file", code: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }

        var isOpen = true
        do throws(WriteError) {
            // mkstemp creates the file 0600; give it the mode a plain create would, 0666 less the umask.
            let mask = umask(0)
            umask(mask)
            if fchmod(descriptor, 0o666 & ~mask) != 0 {
                throw WriteError(path: path, operation: "set permissions", code: errno)
            }
            try writeAll(bytes, to: descriptor, path: path)
            if fsync(descriptor) != 0 { throw WriteError(path: path, operation: "flush to disk", code: errno) }
            isOpen = false
            if close(descriptor) != 0 { throw WriteError(path: path, operation: "close", code: errno) }
            if rename(temporary, path) != 0 { throw WriteError(path: path, operation: "rename into place", code: errno) }
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable; a failure here cannot un-write the file, so it is not an error.
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Writes every byte, retrying short writes and interruptions.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(WriteError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                posixWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw WriteError(path: path, operation: "write", code: errno)
            }
            written += result
        }
    }
}

/// `write(2)`, reachable from inside ``AtomicFile`` whose own `write` would otherwise shadow it.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
