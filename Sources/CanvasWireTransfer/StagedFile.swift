import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file whose complete contents are written (``AtomicFile/stage(_:at:durable:)``) but that has no
/// name yet: ``commit(replacing:)`` gives it its name in one step, and one that is never committed
/// disappears when it is released (an unnamed `O_TMPFILE` is freed by the kernel, a hidden temporary
/// is removed).
///
/// This is what lets a receiver encode and write frames on every core while deciding in stream order
/// which of them appear: after a count is reached or an error, nothing more does.
public final class StagedFile: Sendable {
    struct Location: Sendable {
        var path: String
        var folder: String
        var hiddenTemplate: String
    }

    enum Contents: Sendable {
        /// An `O_TMPFILE` file, alive while its descriptor is open.
        case unnamed(descriptor: Int32)
        /// A hidden, closed temporary file, where `O_TMPFILE` is unsupported.
        case temporary(path: String)
        /// Committed, or given up after a failed commit.
        case done
    }

    /// Where the file gets its name.
    public var path: String { location.path }
    /// The size of its contents.
    public let byteCount: Int
    private let location: Location
    private let durable: Bool
    private let contents: Mutex<Contents>

    init(_ location: Location, contents: Contents, byteCount: Int, durable: Bool) {
        self.location = location
        self.contents = Mutex(contents)
        self.byteCount = byteCount
        self.durable = durable
    }

    deinit {
        Self.discard(contents.withLock { $0 })
    }

    /// Gives the file its name; call at most once.
    ///
    /// - Parameter replacing: Whether an existing file at ``path`` may be replaced; when it may not,
    ///   the file is linked into place, which fails atomically with `EEXIST` instead.
    /// - Throws: ``TransferError`` naming ``path``; the staged contents are discarded.
    public func commit(replacing: Bool) throws(TransferError) {
        let staged = contents.withLock { contents in
            defer { contents = .done }
            return contents
        }
        let path = location.path
        switch staged {
        case .unnamed(let descriptor):
            defer { close(descriptor) }
            let handle = "/proc/self/fd/\(descriptor)"
            if replacing {
                try replace(path, with: handle)
            } else if linkat(AT_FDCWD, handle, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0 {
                throw .writeFailed(path, operation: "link into place", code: errno)
            }
        case .temporary(let temporary):
            if replacing {
                guard rename(temporary, path) == 0 else {
                    let code = errno
                    unlink(temporary)
                    throw .writeFailed(path, operation: "rename into place", code: code)
                }
            } else {
                defer { unlink(temporary) }
                if link(temporary, path) != 0 { throw .writeFailed(path, operation: "link into place", code: errno) }
            }
        case .done:
            preconditionFailure("\(path) was committed twice")
        }
        guard durable else { return }
        // Make the new name durable; a failure here cannot un-write the file, so it is not an error.
        let folderDescriptor = open(location.folder, O_RDONLY | O_DIRECTORY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// rename() is what replaces atomically, and it needs a name to start from.
    private func replace(_ path: String, with handle: String) throws(TransferError) {
        var template = location.hiddenTemplate.utf8CString
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

    /// Frees the contents of a file that was never committed.
    private static func discard(_ contents: Contents) {
        switch contents {
        case .unnamed(let descriptor): close(descriptor)
        case .temporary(let path): unlink(path)
        case .done: break
        }
    }
}
