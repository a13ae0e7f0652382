import CanvasWireClient
import CanvasWireCore

#if canImport(Glibc)
import Glibc
#endif

/// Why a transfer, a file operation or a conversion failed, phrased as the one line a user sees:
/// what went wrong, where, and what to do about it.
///
/// A struct around a private enum, like ``WebSocketClientError``, so new cases never break callers.
public struct TransferError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case noMatch(pattern: String)
        case noImages(folder: String)
        case noFrames(skipped: Int)
        case unreadable(path: String, code: Int32)
        case unreadableFolder(path: String, code: Int32)
        case notAFolderToWatch(path: String)
        case cannotWatch(path: String, code: Int32)
        case readFailed(name: String, code: Int32)
        case truncatedRawFrame(index: Int, received: Int, size: FrameSize)
        case invalidFrame(name: String, reason: String)
        case sizeChanged(sequence: UInt64, from: FrameSize, to: FrameSize)
        case writeFailed(path: String, operation: String, code: Int32)
        case streamClosedBadly(CloseInfo)
        case connectionEnded(CloseInfo)
        case conversion(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func noMatch(pattern: String) -> Self { .init(.noMatch(pattern: pattern)) }
    static func noImages(folder: String) -> Self { .init(.noImages(folder: folder)) }
    static func noFrames(skipped: Int) -> Self { .init(.noFrames(skipped: skipped)) }
    static func unreadable(_ path: String, code: Int32) -> Self { .init(.unreadable(path: path, code: code)) }
    static func unreadableFolder(_ path: String, code: Int32) -> Self { .init(.unreadableFolder(path: path, code: code)) }
    static func notAFolderToWatch(_ path: String) -> Self { .init(.notAFolderToWatch(path: path)) }
    static func cannotWatch(_ path: String, code: Int32) -> Self { .init(.cannotWatch(path: path, code: code)) }
    static func readFailed(_ name: String, code: Int32) -> Self { .init(.readFailed(name: name, code: code)) }
    static func truncatedRawFrame(index: Int, received: Int, size: FrameSize) -> Self {
        .init(.truncatedRawFrame(index: index, received: received, size: size))
    }
    static func invalidFrame(_ name: String, reason: String) -> Self { .init(.invalidFrame(name: name, reason: reason)) }
    static func sizeChanged(sequence: UInt64, from: FrameSize, to: FrameSize) -> Self {
        .init(.sizeChanged(sequence: sequence, from: from, to: to))
    }
    static func writeFailed(_ path: String, operation: String, code: Int32) -> Self {
        .init(.writeFailed(path: path, operation: operation, code: code))
    }
    static func streamClosedBadly(_ info: CloseInfo) -> Self { .init(.streamClosedBadly(info)) }
    static func connectionEnded(_ info: CloseInfo) -> Self { .init(.connectionEnded(info)) }
    static func conversion(_ message: String) -> Self { .init(.conversion(message)) }

    /// The `errno` behind a failed system call, so a caller can tell "already exists" (`EEXIST`) or
    /// "disk full" (`ENOSPC`) from other failures without parsing the message.
    public var systemErrorCode: Int32? {
        switch kind {
        case .unreadable(_, let code), .unreadableFolder(_, let code), .cannotWatch(_, let code),
            .readFailed(_, let code), .writeFailed(_, _, let code):
            code
        default:
            nil
        }
    }

    /// What went wrong, where, and what to do, in one line.
    public var description: String {
        switch kind {
        case .noMatch(let pattern):
            "\(pattern): no files match this pattern"
        case .noImages(let folder):
            "no images found in \(folder): only files ending in .png are sent"
        case .noFrames(let skipped):
            "no images found in the input, so nothing was sent\(skipped == 0 ? "" : skipped == 1 ? " (1 invalid file skipped)" : " (\(skipped) invalid files skipped)")"
        case .unreadable(let path, let code):
            "\(path): \(Self.text(code))"
        case .unreadableFolder(let path, let code):
            "\(path): cannot read folder: \(Self.text(code))"
        case .notAFolderToWatch(let path):
            "--watch \(path): not a folder"
        case .cannotWatch(let path, let code):
            "--watch \(path): cannot watch: \(Self.text(code))"
        case .readFailed(let name, let code):
            "\(name): cannot read: \(Self.text(code))"
        case .truncatedRawFrame(let index, let received, let size):
            "stdin ended inside raw frame \(index): \(received) of \(size.rgbaByteCount) bytes (\(size) RGBA)"
        case .invalidFrame(_, let reason):
            reason
        case .sizeChanged(let sequence, let from, let to):
            "frame \(sequence) is \(to) but the frames before it are \(from), and raw RGBA on stdout cannot say where the size changes; use --allow-size-change if the reader knows, or --format png"
        case .writeFailed(let path, _, EEXIST):
            "\(path): already exists; use --overwrite to replace it"
        case .writeFailed(let path, let operation, ENOSPC):
            "\(path): cannot \(operation): the disk is full"
        case .writeFailed(let path, let operation, let code):
            "\(path): cannot \(operation): \(Self.text(code))"
        case .streamClosedBadly(let info):
            "the server closed the stream with \(info)"
        case .connectionEnded(let info):
            "the connection ended with \(info)"
        case .conversion(let message):
            message
        }
    }

    private static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
}
