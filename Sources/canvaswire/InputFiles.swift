#if canImport(Glibc)
import Glibc
#endif

/// Turns the sender's command-line inputs into an ordered list of PNG files.
enum InputFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Files as given; folders contribute their `.png` files in natural order (`frame2` before
    /// `frame10`); arguments with `*`, `?` or `[` that the shell did not expand are expanded here.
    static func expand(_ arguments: [String]) throws(Failure) -> [String] {
        var files: [String] = []
        for argument in arguments {
            if isDirectory(argument) {
                files += try pngFiles(in: argument)
            } else if argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                guard !matches.isEmpty else { throw Failure(description: "\(argument): no files match this pattern") }
                files += matches.sorted(by: naturalOrder)
            } else {
                guard access(argument, R_OK) == 0 else {
                    throw Failure(description: "\(argument): \(String(cString: strerror(errno)))")
                }
                files.append(argument)
            }
        }
        return files
    }

    static func pngFiles(in folder: String) throws(Failure) -> [String] {
        guard let directory = opendir(folder) else {
            throw Failure(description: "\(folder): cannot read folder: \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if !name.hasPrefix("."), name.lowercased().hasSuffix(".png") { names.append(name) }
        }
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return names.sorted(by: naturalOrder).map { prefix + $0 }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Compares runs of digits by value and everything else by character: `frame2` < `frame10`.
    static func naturalOrder(_ lhs: String, _ rhs: String) -> Bool {
        var left = Array(lhs.unicodeScalars)[...], right = Array(rhs.unicodeScalars)[...]
        while let l = left.first, let r = right.first {
            if l.properties.numericType != nil, r.properties.numericType != nil {
                let leftDigits = left.prefix { $0.properties.numericType != nil }
                let rightDigits = right.prefix { $0.properties.numericType != nil }
                let leftValue = String(String.UnicodeScalarView(leftDigits.drop { $0 == "0" }))
                let rightValue = String(String.UnicodeScalarView(rightDigits.drop { $0 == "0" }))
                if leftValue.count != rightValue.count { return leftValue.count < rightValue.count }
                if leftValue != rightValue { return leftValue < rightValue }
                left = left.dropFirst(leftDigits.count)
                right = right.dropFirst(rightDigits.count)
            } else {
                if l != r { return l.value < r.value }
                left = left.dropFirst()
                right = right.dropFirst()
            }
        }
        return left.count < right.count
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}
