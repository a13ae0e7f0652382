import ArgumentParser
import CanvasWireCore
import CanvasWirePNG
import CanvasWireTransfer

/// `canvaswire convert IN OUT`: PNG to raw RGBA, raw RGBA to PNG, or PNG re-encoded, by
/// ``FrameConverter``.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert between PNG and raw RGBA8 frames.",
        discussion: """
            Converts PNG to raw RGBA (width*height*4 bytes, rows top first), raw RGBA to PNG, or PNG to \
            PNG with new compression settings. PNGs of every colour type and bit depth are read as stored: \
            no gamma or colour conversion, 16-bit samples keep their high byte, and images without alpha \
            get 255.

            Use - for standard input or output, for example in a pipe with ffmpeg:
              ffmpeg -i in.mp4 -frames:v 1 -f rawvideo -pix_fmt rgba - | canvaswire convert --size 1920x1080 - frame.png
              canvaswire convert --to rgba frame.png - | ffmpeg -f rawvideo -pix_fmt rgba -s 1920x1080 -i - out.mp4

            The output format follows OUT's extension (.png, .rgba or .raw) unless --to says otherwise; \
            --to is required when OUT is -. The input format is --from if given, else IN's extension, \
            else PNG when the data starts with the PNG signature and raw RGBA otherwise.

            A file OUT is written to a temporary file next to it and renamed into place only when \
            complete, so an error never leaves a partial file behind.
            """
    )

    @Argument(help: ArgumentHelp("Input file, or - for standard input.", valueName: "in"))
    var input: String

    @Argument(help: ArgumentHelp("Output file, or - for standard output.", valueName: "out"))
    var output: String

    @Option(
        help: ArgumentHelp("Size of raw RGBA input; required to read raw RGBA.", valueName: "WxH"),
        transform: { text in
            guard let size = FrameSize(parsing: text) else {
                throw ValidationError("--size must be WIDTHxHEIGHT with positive integers, like 1920x1080; got '\(text)'")
            }
            return size
        }
    )
    var size: FrameSize?

    @Option(help: "Input format, overriding the extension and signature check.")
    var from: FrameConverter.Format?

    @Option(help: "Output format, overriding OUT's extension. Required when OUT is -.")
    var to: FrameConverter.Format?

    @Option(help: "zlib level for PNG output, 0 (store, fastest) to 9 (smallest).")
    var level: Int = PNGEncoder.Configuration().level

    @Option(
        help: ArgumentHelp(
            "Row filter for PNG output: \(PNGEncoder.Filter.all.map(\.name).joined(separator: ", ")).",
            valueName: "name"))
    var filter: String = PNGEncoder.Configuration().filter.name

    @Option(
        help: ArgumentHelp(
            "zlib strategy for PNG output: \(PNGEncoder.Strategy.all.map(\.name).joined(separator: ", ")).",
            valueName: "name"))
    var strategy: String = PNGEncoder.Configuration().strategy.name

    @Flag(help: "Keep the alpha channel in PNG output even when every pixel is opaque.")
    var keepAlpha = false

    func validate() throws {
        guard (0...9).contains(level) else { throw ValidationError("--level must be 0 to 9; got \(level)") }
        guard PNGEncoder.Filter(name: filter) != nil else {
            throw ValidationError(
                "unknown --filter '\(filter)'; use one of \(PNGEncoder.Filter.all.map(\.name).joined(separator: ", "))")
        }
        guard PNGEncoder.Strategy(name: strategy) != nil else {
            throw ValidationError(
                "unknown --strategy '\(strategy)'; use one of \(PNGEncoder.Strategy.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        try makeConverter().convert(input, to: output)
    }

    func makeConverter() -> FrameConverter {
        let encoder = PNGEncoder.Configuration(
            level: level,
            filter: PNGEncoder.Filter(name: filter) ?? .none,
            strategy: PNGEncoder.Strategy(name: strategy) ?? .auto,
            writesOpaqueImagesAsRGB: !keepAlpha
        )
        return FrameConverter(size: size, inputFormat: from, outputFormat: to, encoder: encoder)
    }
}
