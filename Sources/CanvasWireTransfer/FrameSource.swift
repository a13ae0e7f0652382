public import CanvasWireCore
import CanvasWirePNG
import Synchronization

/// A sender's input: a lazy stream of items, produced only as fast as they are consumed, and how many
/// there are when that is known (for a progress line's ETA).
public struct FrameSource: Sendable {
    /// The items in sending order; read once.
    public let items: AsyncThrowingStream<SourceItem, any Error>
    /// The number of items, for finite file input; `nil` for streams and watched folders.
    public let count: Int?

    /// A source of any items, for example frames a program renders itself.
    public init(items: AsyncThrowingStream<SourceItem, any Error>, count: Int? = nil) {
        self.items = items
        self.count = count
    }

    /// PNG files, folders (their PNGs in natural order) and globs, as ``InputFiles/expand(_:)`` reads
    /// them; with `loop`, again from the start for ever.
    ///
    /// - Throws: ``TransferError`` when an argument is unreadable or matches nothing, before anything
    ///   is sent.
    public static func inputs(_ arguments: [String], loop: Bool = false) throws(TransferError) -> FrameSource {
        files(try InputFiles.expand(arguments), loop: loop)
    }

    /// Files in order; with `loop`, again from the start for ever.
    public static func files(_ paths: [String], loop: Bool = false) -> FrameSource {
        let position = Mutex(0)
        let items = AsyncThrowingStream<SourceItem, any Error> {
            position.withLock { index -> SourceItem? in
                guard !paths.isEmpty else { return nil }
                if index == paths.count {
                    guard loop else { return nil }
                    index = 0
                }
                defer { index += 1 }
                return .file(paths[index])
            }
        }
        return FrameSource(items: items, count: loop ? nil : paths.count)
    }

    /// Every PNG completed in, or moved into, `folder` from now on, for as long as the sender runs.
    ///
    /// - Throws: ``TransferError`` when `folder` is not a folder or cannot be watched.
    public static func watching(folder: String) throws(TransferError) -> FrameSource {
        let watcher = try FolderWatcher(folder: folder)
        let queue = Mutex<[String]>([])
        let items = AsyncThrowingStream<SourceItem, any Error> {
            while true {
                if let next = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return .file(next) }
                let batch = try await watcher.nextFiles()
                queue.withLock { $0 += batch }
            }
        }
        return FrameSource(items: items)
    }

    /// Concatenated PNG files on standard input (what `ffmpeg -f image2pipe -c:v png -` writes).
    public static func pngStream(limits: FrameLimits = .default) -> FrameSource {
        let state = Mutex((splitter: PNGStreamSplitter(limits: limits), ready: [[UInt8]](), count: 0, ended: false))
        let items = AsyncThrowingStream<SourceItem, any Error>(unfolding: { () async throws -> SourceItem? in
            while true {
                let (file, ended, count) = state.withLock { state in
                    (state.ready.isEmpty ? nil : state.ready.removeFirst(), state.ended, state.count)
                }
                if let file {
                    state.withLock { $0.count += 1 }
                    return .png(file, name: "stdin PNG #\(count + 1)")
                }
                if ended { return nil }
                let chunk = try await BlockingIO.run { try BlockingIO.read(0, upTo: 1 << 20, name: "stdin") }
                do throws(PNGError) {
                    try state.withLock { (state) throws(PNGError) in
                        if chunk.isEmpty {
                            state.ended = true
                            try state.splitter.finish()
                        } else {
                            state.ready += try state.splitter.append(chunk)
                        }
                    }
                } catch {
                    throw TransferError.invalidFrame("stdin", reason: error.description)
                }
            }
        })
        return FrameSource(items: items)
    }

    /// Raw RGBA frames of one size on standard input (`ffmpeg -f rawvideo -pix_fmt rgba -`).
    public static func rawStream(size: FrameSize) -> FrameSource {
        let count = Mutex(0)
        let items = AsyncThrowingStream<SourceItem, any Error> {
            let index = count.withLock { value in
                defer { value += 1 }
                return value
            }
            let bytes = try await BlockingIO.run { try BlockingIO.readFully(0, count: size.rgbaByteCount, name: "stdin") }
            if bytes.isEmpty { return nil }
            guard bytes.count == size.rgbaByteCount else {
                throw TransferError.truncatedRawFrame(index: index + 1, received: bytes.count, size: size)
            }
            return .raw(bytes, size: size, name: "stdin frame #\(index + 1)")
        }
        return FrameSource(items: items)
    }
}
