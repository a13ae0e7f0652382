import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns received frames into files (or one stdout stream). Encoding and file writes run in parallel
/// in `prepare`; only the stdout stream, which must stay in order, is written in `writeToStdout`.
struct FrameWriter: Sendable {
    enum Output: Sendable {
        /// A file of this many bytes was written.
        case written(Int)
        /// Bytes for stdout, to be written in stream order.
        case encoded([UInt8])
        case dropped(UInt64)
        /// The frame's file already exists and `resume` keeps it.
        case skipped
        case ended
        case ignored
    }

    let folder: String
    let pattern: OutputPattern
    let toStdout: Bool
    let format: ReceiveCommand.OutputFormat
    let overwrite: Bool
    /// Keep existing files and skip their frames (a restarted receiver), instead of refusing them.
    let resume: Bool
    let durable: Bool
    let encoder: PNGEncoder
    let decoder: PNGDecoder

    func prepare(_ event: StreamEvent) throws -> Output {
        switch event {
        case .frame(let frame):
            let path = (folder.hasSuffix("/") ? folder : folder + "/") + pattern.name(for: frame.header.sequence)
            if resume, !toStdout, access(path, F_OK) == 0 { return .skipped }
            let bytes = try encode(frame)
            if toStdout { return .encoded(bytes) }
            do {
                try AtomicFile.write(bytes, to: path, replacing: overwrite, durable: durable)
            } catch {
                // Written by someone else since the check: kept, as --resume promises.
                guard resume, error.code == EEXIST else { throw error }
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

    func writeToStdout(_ bytes: [UInt8]) throws {
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
        }
    }
}
