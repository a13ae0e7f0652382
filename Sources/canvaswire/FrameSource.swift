import CanvasWireCore
import CanvasWirePNG
import Synchronization

/// One frame's worth of sender input, before decoding.
enum SourceItem: Sendable {
    case file(String)
    case png([UInt8], name: String)
    case raw([UInt8], size: FrameSize, name: String)

    var name: String {
        switch self {
        case .file(let path): path
        case .png(_, let name), .raw(_, _, let name): name
        }
    }
}

/// A frame decoded (or checked) and ready for the wire.
struct PreparedFrame: Sendable {
    var name: String
    var format: PixelFormat
    var size: FrameSize
    var payload: [UInt8]

    /// Reads and decodes `item`. A PNG sent as PNG is still decoded once, so a broken file is caught
    /// here and never reaches a viewer.
    static func prepare(_ item: SourceItem, format: PixelFormat, decoder: PNGDecoder) throws -> PreparedFrame {
        let (png, name): ([UInt8], String)
        switch item {
        case .raw(let pixels, let size, let name):
            return PreparedFrame(name: name, format: .rgba8, size: size, payload: pixels)
        case .file(let path):
            (png, name) = (try BlockingIO.readFile(path), path)
        case .png(let bytes, let itemName):
            (png, name) = (bytes, itemName)
        }
        let image = try decoder.decode(png, source: name)
        return PreparedFrame(
            name: name, format: format, size: image.size, payload: format == .png ? png : image.pixels
        )
    }
}

/// The sender's inputs as a lazy stream of items: produced only as fast as they are consumed.
enum FrameSource {
    /// Files in order; with `loop`, again from the start for ever.
    static func files(_ paths: [String], loop: Bool) -> AsyncThrowingStream<SourceItem, any Error> {
        let position = Mutex(0)
        return AsyncThrowingStream {
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
    }

    /// Every PNG completed in a watched folder, for as long as the sender runs.
    static func watching(_ watcher: FolderWatcher) -> AsyncThrowingStream<SourceItem, any Error> {
        let queue = Mutex<[String]>([])
        return AsyncThrowingStream {
            while true {
                if let next = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return .file(next) }
                let batch = try await watcher.nextFiles()
                queue.withLock { $0 += batch }
            }
        }
    }

    /// Concatenated PNG files on standard input (what `ffmpeg -f image2pipe -c:v png -` writes).
    static func pngStream(limits: FrameLimits) -> AsyncThrowingStream<SourceItem, any Error> {
        let state = Mutex((splitter: PNGStreamSplitter(limits: limits), ready: [[UInt8]](), count: 0, ended: false))
        return AsyncThrowingStream {
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
                try state.withLock { state in
                    if chunk.isEmpty {
                        state.ended = true
                        try state.splitter.finish()
                    } else {
                        state.ready += try state.splitter.append(chunk)
                    }
                }
            }
        }
    }

    /// Raw RGBA frames of one size on standard input (`ffmpeg -f rawvideo -pix_fmt rgba -`).
    static func rawStream(size: FrameSize) -> AsyncThrowingStream<SourceItem, any Error> {
        let count = Mutex(0)
        return AsyncThrowingStream {
            let index = count.withLock { value in
                defer { value += 1 }
                return value
            }
            let bytes = try await BlockingIO.run { try BlockingIO.readFully(0, count: size.rgbaByteCount, name: "stdin") }
            if bytes.isEmpty { return nil }
            guard bytes.count == size.rgbaByteCount else {
                throw BlockingIO.Failure(
                    description: "stdin ended inside raw frame \(index + 1): \(bytes.count) of \(size.rgbaByteCount) bytes (\(size) RGBA)"
                )
            }
            return .raw(bytes, size: size, name: "stdin frame #\(index + 1)")
        }
    }
}
