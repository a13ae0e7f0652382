public import CanvasWireCore
public import CanvasWirePNG

#if canImport(Glibc)
import Glibc
#endif

/// Converts one frame between PNG and raw RGBA8, or re-encodes a PNG: the library behind
/// `canvaswire convert`.
///
/// PNGs of every colour type and bit depth are read as stored (no gamma or colour conversion). A file
/// is written with ``AtomicFile``, so an error never leaves a partial one behind.
public struct FrameConverter: Sendable {
    /// A frame file's format.
    public enum Format: String, Sendable, CaseIterable {
        case png
        case rgba
    }

    /// The size of raw RGBA input (required to read it), or the size a PNG input must have.
    public var size: FrameSize?
    /// The input's format; `nil` goes by its extension, then by the PNG signature.
    public var inputFormat: Format?
    /// The output's format; `nil` goes by its extension (required for stdout).
    public var outputFormat: Format?
    /// How PNG output is compressed.
    public var encoder: PNGEncoder.Configuration

    /// - Parameters: see the properties.
    public init(
        size: FrameSize? = nil, inputFormat: Format? = nil, outputFormat: Format? = nil,
        encoder: PNGEncoder.Configuration = .init()
    ) {
        self.size = size
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.encoder = encoder
    }

    /// Reads `input`, converts it and writes `output`; `-` is stdin or stdout.
    ///
    /// - Throws: ``TransferError`` saying what is wrong with which file, and what to pass instead.
    public func convert(_ input: String, to output: String) throws(TransferError) {
        let format = try resolvedOutputFormat(output)
        let inputName = input == "-" ? "stdin" : input
        let bytes = try input == "-" ? Self.readAll(descriptor: STDIN_FILENO, name: inputName) : Self.readFile(input)
        let image = try decode(bytes, name: inputName, path: input)
        let result: [UInt8]
        switch format {
        case .rgba:
            result = image.pixels
        case .png:
            do {
                result = try PNGEncoder(configuration: encoder).encode(image)
            } catch {
                throw .conversion("\(output == "-" ? "stdout" : output): cannot encode PNG: \(error.reason)")
            }
        }
        if output == "-" {
            try AtomicFile.writeAll(result, to: STDOUT_FILENO, path: "stdout")
        } else {
            try AtomicFile.write(result, to: output)
        }
    }

    /// The format a file name's extension (`.png`, `.rgba`, `.raw`) implies.
    public static func format(ofPath path: String) -> Format? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "png": return .png
        case "rgba", "raw": return .rgba
        default: return nil
        }
    }

    private func resolvedOutputFormat(_ output: String) throws(TransferError) -> Format {
        if let outputFormat { return outputFormat }
        if output == "-" {
            throw .conversion("cannot tell which format to write to stdout; pass --to png or --to rgba")
        }
        guard let format = Self.format(ofPath: output) else {
            throw .conversion("\(output): cannot tell the output format from the file name; use .png or .rgba, or pass --to")
        }
        return format
    }

    private func decode(_ bytes: [UInt8], name: String, path: String) throws(TransferError) -> RGBAImage {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let format =
            inputFormat ?? (path == "-" ? nil : Self.format(ofPath: path))
            ?? (bytes.starts(with: signature) ? .png : .rgba)
        switch format {
        case .png:
            let image: RGBAImage
            do {
                image = try PNGDecoder().decode(bytes, source: name)
            } catch {
                throw .conversion(error.description)
            }
            if let size, size != image.size {
                throw .conversion("\(name): the PNG is \(image.size), but --size says \(size)")
            }
            return image
        case .rgba:
            guard let size else {
                throw .conversion("\(name): raw RGBA input (\(bytes.count) bytes) needs --size WxH; pass --from png if it is a PNG")
            }
            do {
                try FrameLimits.default.check(width: size.width, height: size.height)
            } catch {
                throw .conversion("--size \(size): \(error)")
            }
            guard bytes.count == size.rgbaByteCount else {
                throw .conversion(
                    "\(name): raw RGBA input is \(bytes.count) bytes, but --size \(size) needs \(size.rgbaByteCount) (\(size.width)*\(size.height)*4)"
                )
            }
            return RGBAImage(size: size, pixels: bytes)
        }
    }

    private static func readFile(_ path: String) throws(TransferError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .conversion("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        return try readAll(descriptor: descriptor, name: path)
    }

    /// Reads to end of file, sized up front from `fstat` when the input is a regular file.
    private static func readAll(descriptor: Int32, name: String) throws(TransferError) -> [UInt8] {
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
                throw .readFailed(name, code: errno)
            }
            bytes.removeLast(chunkSize - count)
            if count == 0 { return bytes }
        }
    }
}
