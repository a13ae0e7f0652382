public import CanvasWireClient
import CanvasWireCore
public import CanvasWirePNG
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns received frames into files (or one stdout stream). Encoding and file writes run in parallel
/// in ``prepare(_:)``; only the stdout stream, which must stay in order, is written in
/// ``writeToStdout(_:)``.
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

    /// What became of one event.
    public enum Output: Sendable {
        /// A file of this many bytes was written.
        case written(Int)
        /// Bytes for stdout, to be written in stream order.
        case encoded([UInt8])
        /// The server's running count of frames it did not deliver.
        case dropped(UInt64)
        /// The frame's file already exists and is kept.
        case skipped
        case ended
        case ignored
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

    /// Encodes a frame and, for a folder, writes its file; any thread, in parallel.
    public func prepare(_ event: StreamEvent) throws -> Output {
        switch event {
        case .frame(let frame):
            guard case .folder(let folder) = destination else { return .encoded(try encode(frame)) }
            let path = (folder.hasSuffix("/") ? folder : folder + "/") + pattern.name(for: frame.header.sequence)
            if existingFiles == .keep, access(path, F_OK) == 0 { return .skipped }
            let bytes = try encode(frame)
            do {
                try AtomicFile.write(bytes, to: path, replacing: existingFiles == .replace, durable: durable)
            } catch {
                // Written by someone else since the check: kept, as .keep promises.
                guard existingFiles == .keep, error.systemErrorCode == EEXIST else { throw error }
                return .skipped
            }
            return .written(bytes.count)
        case .dropped(let dropped):
            return .dropped(dropped.total)
        case .end:
            return .ended
        case .publisher:
            return .ignored
        }
    }

    /// Writes an ``Output/encoded(_:)`` frame to standard output; call in stream order.
    public func writeToStdout(_ bytes: [UInt8]) throws(TransferError) {
        try AtomicFile.writeAll(bytes, to: STDOUT_FILENO, path: "stdout")
    }

    private func encode(_ frame: ReceivedFrame) throws -> [UInt8] {
        let name = "frame \(frame.header.sequence)"
        switch (frame.header.pixelFormat, format) {
        case (.rgba8, .rgba), (.png, .png):
            return Array(frame.payload.readableBytesView)
        case (.rgba8, .png):
            return try frame.payload.withUnsafeReadableBytes { pixels in
                try encoder.encode(pixels, size: frame.header.size)
            }
        case (.png, .rgba):
            return try frame.payload.withUnsafeReadableBytes { png in try decoder.decode(png, source: name) }.pixels
        case (.rgba8Delta, _):
            // The client library applies deltas and hands on whole frames; one that reaches here is a bug.
            throw TransferError.invalidFrame(name, reason: "a delta frame reached the writer unapplied")
        }
    }
}
