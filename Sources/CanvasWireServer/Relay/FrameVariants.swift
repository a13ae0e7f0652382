import CanvasWireCore
import NIOCore
import Synchronization

/// What a frame becomes for viewers that do not take it as the publisher sent it: a delta against the
/// frame before it, a delta that catches a slow viewer up, compressed copies. Each is computed once, by
/// the first viewer that needs it, and shared by every other (the zero-copy fan-out carries over).
///
/// The stream fills in where the frame stands among the others when it is published (``place``):
/// its position and the tiles that changed since the previous frame, from which the deltas are made.
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

    private struct State {
        var place = Place(index: 0)
        /// A variant that turned out not to be worth sending is stored as `nil`.
        var messages: [Key: ByteBuffer?] = [:]
    }

    private let state = Mutex(State())

    var place: Place {
        get { state.withLock { $0.place } }
        set { state.withLock { $0.place = newValue } }
    }

    /// The variant for `key`, made with `make` if no viewer has made it yet; `nil` when `make` found it
    /// not worth sending. The lock is held while `make` runs, so a viewer on another event loop that
    /// needs the same variant waits for it instead of making it again.
    func message(_ key: Key, make: () -> ByteBuffer?) -> ByteBuffer? {
        state.withLock { state in
            if let made = state.messages[key] { return made }
            let made = make()
            state.messages[key] = .some(made)
            return made
        }
    }
}
