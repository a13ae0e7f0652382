import ArgumentParser
import CanvasWireCore
import CanvasWirePNG

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `canvaswire convert IN OUT`: PNG to raw RGBA, raw RGBA to PNG, or PNG re-encoded.
///
/// Only parses options and moves bytes; decoding and encoding are `CanvasWirePNG`'s job.
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

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case png
        case rgba
    }

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
    var from: Format?

    @Option(help: "Output format, overriding OUT's extension. Required when OUT is -.")
    var to: Format?

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
        let outputFormat = try resolveOutputFormat()
        let inputName = input == "-" ? "stdin" : input
        let bytes = try input == "-" ? readAll(descriptor: STDIN_FILENO, name: inputName) : readFile(input)
        let image = try decodeInput(bytes, name: inputName)

        let result: [UInt8]
        switch outputFormat {
        case .rgba:
            result = image.pixels
        case .png:
            let configuration = PNGEncoder.Configuration(
                level: level,
                filter: PNGEncoder.Filter(name: filter) ?? .none,
                strategy: PNGEncoder.Strategy(name: strategy) ?? .auto,
                writesOpaqueImagesAsRGB: !keepAlpha
            )
            do {
                result = try PNGEncoder(configuration: configuration).encode(image)
            } catch {
                throw ConvertError("\(output == "-" ? "stdout" : output): cannot encode PNG: \(error.reason)")
            }
        }

        if output == "-" {
            do {
                try AtomicFile.writeAll(result, to: STDOUT_FILENO, path: "stdout")
            } catch {
                throw ConvertError(error.description)
            }
        } else {
            do {
                try AtomicFile.write(result, to: output)
            } catch {
                throw ConvertError(error.description)
            }
        }
    }

    private func resolveOutputFormat() throws -> Format {
        if let to { return to }
        if output == "-" {
            throw ConvertError("cannot tell which format to write to stdout; pass --to png or --to rgba")
        }
        guard let format = Self.format(ofPath: output) else {
            throw ConvertError(
                "\(output): cannot tell the output format from the file name; use .png or .rgba, or pass --to")
        }
        return format
    }

    private func decodeInput(_ bytes: [UInt8], name: String) throws -> RGBAImage {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let format =
            from ?? (input == "-" ? nil : Self.format(ofPath: input))
            ?? (bytes.starts(with: signature) ? .png : .rgba)
        switch format {
        case .png:
            let image: RGBAImage
            do {
                image = try PNGDecoder().decode(bytes, source: name)
            } catch {
                throw ConvertError(error.description)
            }
            if let size, size != image.size {
                throw ConvertError("\(name): the PNG is \(image.size), but --size says \(size)")
            }
            return image
        case .rgba:
            guard let size else {
                throw ConvertError(
                    "\(name): raw RGBA input (\(bytes.count) bytes) needs --size WxH; "
                        + "pass --from png if it is a PNG")
            }
            do {
                try FrameLimits.default.check(width: size.width, height: size.height)
            } catch {
                throw ConvertError("--size \(size): \(error)")
            }
            guard bytes.count == size.rgbaByteCount else {
                throw ConvertError(
                    "\(name): raw RGBA input is \(bytes.count) bytes, but --size \(size) needs "
                        + "\(size.rgbaByteCount) (\(size.width)*\(size.height)*4)")
            }
            return RGBAImage(size: size, pixels: bytes)
        }
    }

    private static func format(ofPath path: String) -> Format? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "png": return .png
        case "rgba", "raw": return .rgba
        default: return nil
        }
    }

    private func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ConvertError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        return try readAll(descriptor: descriptor, name: path)
    }

    private func readAll(descriptor: Int32, name: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        let chunkSize = 1 << 20
        while true {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunkSize))
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + start, chunkSize) }
            if count < 0 {
                bytes.removeLast(chunkSize)
                if errno == EINTR { continue }
                throw ConvertError("\(name): cannot read: \(String(cString: strerror(errno)))")
            }
            bytes.removeLast(chunkSize - count)
            if count == 0 { return bytes }
        }
    }
}

/// A conversion failure, already phrased as the one line the user sees: what, where, why.
struct ConvertError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
