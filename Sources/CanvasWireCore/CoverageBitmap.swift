/// One bit per pixel of a frame, telling which pixels a delta's rectangles have covered so far.
///
/// Overlap is found by marking each rectangle's rows in turn, so checking a whole delta costs time in
/// proportion to its pixels (which its payload carries) divided by 64, never rectangle pairs: a hostile
/// flood of 1x1 rectangles costs one word test per rectangle. The memory is the frame's size / 8 and
/// is kept, all bits clear, between deltas: callers unmark what they marked.
struct CoverageBitmap: Sendable {
    private let wordsPerRow: Int
    private var words: [UInt64]

    init(frameSize: FrameSize) {
        wordsPerRow = (frameSize.width + 63) / 64
        words = Array(repeating: 0, count: wordsPerRow * frameSize.height)
    }

    /// Marks the pixels of `rectangle`, which lies inside the frame.
    ///
    /// - Returns: `nil` when it was marked, or the first pixel (in row order) that an earlier rectangle
    ///   already covers; then nothing of `rectangle` stays marked.
    mutating func mark(_ rectangle: DeltaRectangle) -> (x: Int, y: Int)? {
        let span = RowSpan(rectangle)
        let wordsPerRow = wordsPerRow
        return words.withUnsafeMutableBufferPointer { words -> (x: Int, y: Int)? in
            for row in rectangle.y..<rectangle.y + rectangle.height {
                let base = row * wordsPerRow
                for index in span.words {
                    let covered = words[base + index] & span.mask(index)
                    if covered != 0 {
                        // Undo what this rectangle marked before reporting the pixel.
                        for undo in span.words.lowerBound..<index { words[base + undo] &= ~span.mask(undo) }
                        for above in rectangle.y..<row { span.clear(row: above, in: words, wordsPerRow: wordsPerRow) }
                        return (index * 64 + covered.trailingZeroBitCount, row)
                    }
                    words[base + index] |= span.mask(index)
                }
            }
            return nil
        }
    }

    /// Clears the pixels of a rectangle that ``mark(_:)`` marked.
    mutating func unmark(_ rectangle: DeltaRectangle) {
        let span = RowSpan(rectangle)
        let wordsPerRow = wordsPerRow
        words.withUnsafeMutableBufferPointer { words in
            for row in rectangle.y..<rectangle.y + rectangle.height {
                span.clear(row: row, in: words, wordsPerRow: wordsPerRow)
            }
        }
    }

    /// The words one row of a rectangle touches, and which of their bits.
    private struct RowSpan {
        let words: ClosedRange<Int>
        let firstMask: UInt64
        let lastMask: UInt64

        init(_ rectangle: DeltaRectangle) {
            let end = rectangle.x + rectangle.width - 1
            words = rectangle.x / 64...end / 64
            firstMask = ~0 << UInt64(rectangle.x % 64)
            lastMask = ~0 >> UInt64(63 - end % 64)
        }

        func mask(_ index: Int) -> UInt64 {
            (index == words.lowerBound ? firstMask : ~0) & (index == words.upperBound ? lastMask : ~0)
        }

        func clear(row: Int, in bitmap: UnsafeMutableBufferPointer<UInt64>, wordsPerRow: Int) {
            for index in words { bitmap[row * wordsPerRow + index] &= ~mask(index) }
        }
    }
}
