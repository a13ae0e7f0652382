import CanvasWireCore
import NIOCore
import Synchronization

/// What a frame becomes for viewers that do not take it as the publisher sent it: a delta against the
/// frame before it, a delta that catches a slow viewer up, compressed copies. Each is computed once, by
/// the first viewer that needs it, and shared by every other (the zero-copy fan-out carries over).
///
/// Where the frame stands among the others (``Place``) is filled in by the stream when it publishes
/// the frame (``Frame/place``), before any viewer sees it; the deltas are made from it.
final class FrameVariants: Sendable {
    /// A variant of the frame's message.
    enum Kind: Hashable, Sendable {
        /// The message as the publisher sent it (or as the server completed it from a delta).
        case full
        /// A delta from the frame published just before this one.
        case delta
        /// A delta from the frame published at this position, for a viewer that skipped the ones between.
        case catchUp(from: UInt64)
    }

    /// A variant and whether it is compressed, with which window.
    struct Key: Hashable, Sendable {
        var kind: Kind
        var windowBits: Int?
    }

    /// Where the frame stands in its stream.
    struct Place: Sendable {
        /// Its position among the stream's published frames.
        var index: UInt64
        /// The tiles that changed since the frame at `index - 1`, when known (same size, RGBA8, and
        /// someone needed deltas when it was published).
        var changedTiles: TileSet?
        var grid: TileGrid?
    }

    /// Made so far; a variant that turned out not to be worth sending is stored as `nil`.
    private let messages = Mutex<[Key: ByteBuffer?]>([:])

    /// The variant for `key`, made with `make` if no viewer has made it yet; `nil` when `make` found it
    /// not worth sending. The lock is held while `make` runs, so a viewer on another event loop that
    /// needs the same variant waits for it instead of making it again.
    func message(_ key: Key, make: () -> ByteBuffer?) -> ByteBuffer? {
        messages.withLock { messages in
            if let made = messages[key] { return made }
            let made = make()
            messages[key] = .some(made)
            return made
        }
    }
}
