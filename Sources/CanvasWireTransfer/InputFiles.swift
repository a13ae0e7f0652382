#if canImport(Glibc)
import Glibc
#endif

/// Turns a sender's inputs (files, folders, globs) into an ordered list of PNG files.
public enum InputFiles {
    /// Files as given; folders contribute their `.png` files in natural order (`frame2` before
    /// `frame10`); arguments with `*`, `?` or `[` that the shell did not expand are expanded here.
    ///
    /// - Throws: ``TransferError`` naming the first argument that is unreadable, matches nothing, or
    ///   is a folder without a PNG in it (most likely the wrong folder).
    public static func expand(_ arguments: [String]) throws(TransferError) -> [String] {
        var files: [String] = []
        for argument in arguments {
            if isDirectory(argument) {
                let found = try pngFiles(in: argument)
                guard !found.isEmpty else { throw .noImages(folder: argument) }
                files += found
            } else if argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                guard !matches.isEmpty else { throw .noMatch(pattern: argument) }
                files += matches.sorted(by: naturalOrder)
            } else {
                guard access(argument, R_OK) == 0 else { throw .unreadable(argument, code: errno) }
                files.append(argument)
            }
        }
        return files
    }

    /// The `.png` files of `folder` (not hidden ones), in natural order.
    public static func pngFiles(in folder: String) throws(TransferError) -> [String] {
        guard let directory = opendir(folder) else { throw .unreadableFolder(folder, code: errno) }
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

    /// Whether `path` names a folder (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Compares runs of digits by value and everything else by character: `frame2` < `frame10`, the
    /// order people number frames in (and `ls -v` shows), where plain string order puts 10 before 2.
    public static func naturalOrder(_ lhs: String, _ rhs: String) -> Bool {
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
