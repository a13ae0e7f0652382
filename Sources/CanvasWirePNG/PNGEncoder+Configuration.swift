import CPNGCodec

extension PNGEncoder {
    /// Compression settings for ``PNGEncoder``.
    ///
    /// The defaults (zlib level 1, the `up` row filter, run-length zlib strategy, opaque images written
    /// as RGB) encode a 1080p frame over twice as fast as Pillow's `compress_level=1`, at about the same
    /// size; `docs/BENCHMARKS.md` has the measurements that chose them. Raise ``level`` and pick
    /// ``Filter/adaptive`` for archival files where size matters more than time.
    public struct Configuration: Hashable, Sendable {
        /// zlib compression level, 0 (store) to 9 (smallest, slowest).
        public var level: Int
        /// The PNG row filter applied before compression.
        public var filter: Filter
        /// The zlib strategy.
        public var strategy: Strategy
        /// Whether an image whose alpha is 255 everywhere is written as RGB (colour type 2).
        ///
        /// A quarter less data to compress, and decoders give back alpha 255 anyway, so the pixels
        /// round-trip exactly.
        public var writesOpaqueImagesAsRGB: Bool

        /// - Parameters:
        ///   - level: zlib level 0-9; 1 by default, for speed.
        ///   - filter: Row filter; ``Filter/up`` by default.
        ///   - strategy: zlib strategy; ``Strategy/rle`` by default.
        ///   - writesOpaqueImagesAsRGB: Write fully opaque images without an alpha channel; `true` by default.
        public init(
            level: Int = 1,
            filter: Filter = .up,
            strategy: Strategy = .rle,
            writesOpaqueImagesAsRGB: Bool = true
        ) {
            self.level = level
            self.filter = filter
            self.strategy = strategy
            self.writesOpaqueImagesAsRGB = writesOpaqueImagesAsRGB
        }
    }

    /// A PNG row filter, or libpng's adaptive choice among all five per row.
    ///
    /// A struct with static members rather than an enum, so adding a choice never breaks a caller's switch.
    public struct Filter: Hashable, Sendable, CustomStringConvertible {
        let cValue: cw_png_filter
        /// The name used on the command line: `none`, `sub`, `up`, `average`, `paeth` or `adaptive`.
        public let name: String

        private init(_ cValue: cw_png_filter, _ name: String) {
            self.cValue = cValue
            self.name = name
        }

        /// No filtering: the fastest, good for flat screen content.
        public static let none = Filter(CW_PNG_FILTER_NONE, "none")
        /// Each byte minus the byte one pixel to the left.
        public static let sub = Filter(CW_PNG_FILTER_SUB, "sub")
        /// Each byte minus the byte above.
        public static let up = Filter(CW_PNG_FILTER_UP, "up")
        /// Each byte minus the mean of left and above.
        public static let average = Filter(CW_PNG_FILTER_AVERAGE, "average")
        /// Each byte minus the Paeth predictor of left, above and upper left.
        public static let paeth = Filter(CW_PNG_FILTER_PAETH, "paeth")
        /// libpng tries all five filters on every row and keeps the best: smallest files, slowest.
        public static let adaptive = Filter(CW_PNG_FILTER_ADAPTIVE, "adaptive")

        /// Every filter, in the order above.
        public static let all: [Filter] = [.none, .sub, .up, .average, .paeth, .adaptive]

        /// Looks a filter up by ``name``; `nil` for an unknown name.
        ///
        /// - Parameter name: One of the names in ``all``; `all` is accepted for ``adaptive``.
        public init?(name: String) {
            let lowered = name.lowercased()
            guard let filter = Self.all.first(where: { $0.name == lowered }) ?? (lowered == "all" ? .adaptive : nil)
            else { return nil }
            self = filter
        }

        /// The filter's ``name``.
        public var description: String { name }
    }

    /// A zlib compression strategy.
    public struct Strategy: Hashable, Sendable, CustomStringConvertible {
        let cValue: cw_png_strategy
        /// The name used on the command line: `auto`, `default`, `filtered`, `huffman` or `rle`.
        public let name: String

        private init(_ cValue: cw_png_strategy, _ name: String) {
            self.cValue = cValue
            self.name = name
        }

        /// libpng's choice: `filtered` when a row filter is used, `default` otherwise.
        public static let auto = Strategy(CW_PNG_STRATEGY_AUTO, "auto")
        /// zlib's general-purpose matching.
        public static let `default` = Strategy(CW_PNG_STRATEGY_DEFAULT, "default")
        /// Favours Huffman coding over string matches; suits filtered photographs.
        public static let filtered = Strategy(CW_PNG_STRATEGY_FILTERED, "filtered")
        /// Huffman coding only, no string matches: fastest, largest.
        public static let huffmanOnly = Strategy(CW_PNG_STRATEGY_HUFFMAN_ONLY, "huffman")
        /// Matches only runs of the previous byte or pixel: fast, and strong on flat screen content.
        public static let rle = Strategy(CW_PNG_STRATEGY_RLE, "rle")

        /// Every strategy, in the order above.
        public static let all: [Strategy] = [.auto, .default, .filtered, .huffmanOnly, .rle]

        /// Looks a strategy up by ``name``; `nil` for an unknown name.
        ///
        /// - Parameter name: One of the names in ``all``.
        public init?(name: String) {
            guard let strategy = Self.all.first(where: { $0.name == name.lowercased() }) else { return nil }
            self = strategy
        }

        /// The strategy's ``name``.
        public var description: String { name }
    }
}
