public import CanvasWireClient
public import CanvasWireCore
public import CanvasWirePNG
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns received frames into files (or one stdout stream) in two steps: ``prepare(_:)`` encodes a
/// frame and writes its file without a name, on any thread, in parallel; ``commit(_:)`` names the
/// file (or writes the stdout stream), in stream order. So frames are coded on every core while the
/// receiver decides in order which ones appear: a count or an error stops them exactly.
public struct FrameWriter: Sendable {
    /// What a file holds: a PNG, or raw RGBA8 pixels (width*height*4 bytes).
    public enum Format: String, Sendable, CaseIterable {
        case png, rgba
    }

    /// What to do with a frame whose file already exists.
    public enum ExistingFiles: Sendable {
        /// Fail, naming the file: nothing is ever overwritten by accident.
        case refuse
        /// Replace the file atomically.
        case replace
        /// Keep the file and skip the frame: a restarted receiver carries on where it was.
        case keep
    }

    /// Where frames go.
    public enum Destination: Sendable, Equatable {
        /// One file a frame in this folder, named by the pattern.
        case folder(String)
        /// Every frame, in order, on standard output.
        case standardOutput
    }

    /// A frame made ready by ``prepare(_:)``, for ``commit(_:)``.
    public enum Output: Sendable {
        /// The frame's file, written but not yet named.
        case staged(StagedFile)
        /// The frame's file already exists and is kept (``ExistingFiles/keep``).
        case existing
        /// The frame's bytes for stdout; `rawSize` is the image's size when they are raw RGBA, which
        /// cannot carry it (`nil` for PNG, which does).
        case encoded([UInt8], rawSize: FrameSize?)
    }

    /// Where files (or the stdout stream) go.
    public let destination: Destination
    /// How files are named after their frame's sequence number.
    public let pattern: OutputPattern
    /// What a file holds.
    public let format: Format
    /// What happens to a frame whose file exists.
    public let existingFiles: ExistingFiles
    /// Whether each file is flushed to disk before it gets its name.
    public let durable: Bool
    /// Encodes RGBA frames to PNG files.
    public let encoder: PNGEncoder
    /// Decodes PNG frames to raw RGBA files.
    public let decoder: PNGDecoder

    /// - Parameters:
    ///   - durable: `fsync` every file before it gets its name, so it survives a power loss; a killed
    ///     receiver never leaves a partial file either way.
    ///   - decoder: Decodes PNG frames when ``Format/rgba`` is asked for; its limits should be the
    ///     server's.
    public init(
        destination: Destination, pattern: OutputPattern, format: Format, existingFiles: ExistingFiles,
        durable: Bool, encoder: PNGEncoder, decoder: PNGDecoder
    ) {
        self.destination = destination
        self.pattern = pattern
        self.format = format
        self.existingFiles = existingFiles
        self.durable = durable
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Encodes a frame and, for a folder, writes its file without naming it yet; any thread, in
    /// parallel. A frame whose output is dropped instead of committed leaves nothing behind.
    public func prepare(_ frame: ReceivedFrame) throws -> Output {
        guard case .folder(let folder) = destination else {
            let (bytes, size) = try encode(frame)
            return .encoded(bytes, rawSize: format == .rgba ? size : nil)
        }
        let path = (folder.hasSuffix("/") ? folder : folder + "/") + pattern.name(for: frame.header.sequence)
        if existingFiles == .keep, access(path, F_OK) == 0 { return .existing }
        return .staged(try AtomicFile.stage(try encode(frame).bytes, at: path, durable: durable))
    }

    /// Names a prepared file or writes prepared bytes to standard output; call in stream order, so
    /// that what appears is decided in order.
    ///
    /// - Returns: The bytes written, or `nil` when an existing file was kept.
    public func commit(_ output: Output) throws(TransferError) -> Int? {
        switch output {
        case .staged(let file):
            do {
                try file.commit(replacing: existingFiles == .replace)
            } catch {
                // Written by someone else since the check: kept, as .keep promises.
                guard existingFiles == .keep, error.systemErrorCode == EEXIST else { throw error }
                return nil
            }
            return file.byteCount
        case .existing:
            return nil
        case .encoded(let bytes, _):
            try AtomicFile.writeAll(bytes, to: STDOUT_FILENO, path: "stdout")
            return bytes.count
        }
    }

    /// The file's bytes, and the size of the image: a PNG payload's own, which may differ from its
    /// header's (only raw output needs it).
    private func encode(_ frame: ReceivedFrame) throws -> (bytes: [UInt8], size: FrameSize) {
        let name = "frame \(frame.header.sequence)"
        switch (frame.header.pixelFormat, format) {
        case (.rgba8, .rgba), (.png, .png):
            return (Array(frame.payload.readableBytesView), frame.header.size)
        case (.rgba8, .png):
            let png = try frame.payload.withUnsafeReadableBytes { pixels in
                try encoder.encode(pixels, size: frame.header.size)
            }
            return (png, frame.header.size)
        case (.png, .rgba):
            let image = try frame.payload.withUnsafeReadableBytes { png in try decoder.decode(png, source: name) }
            return (image.pixels, image.size)
        case (.rgba8Delta, _):
            // The client library applies deltas and hands on whole frames; one that reaches here is a bug.
            throw TransferError.invalidFrame(name, reason: "a delta frame reached the writer unapplied")
        }
    }
}
