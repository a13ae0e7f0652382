import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking system calls (a read from stdin, an inotify read) off the Swift concurrency pool,
/// whose few threads must never block.
enum BlockingIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads up to `count` bytes from `descriptor`; an empty result means end of file.
    static func read(_ descriptor: Int32, upTo count: Int, name: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        while true {
            let result = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, count) }
            if result >= 0 { return Array(bytes.prefix(result)) }
            if errno != EINTR { throw Failure(description: "\(name): cannot read: \(String(cString: strerror(errno)))") }
        }
    }

    /// Reads exactly `count` bytes, or fewer only at end of file.
    static func readFully(_ descriptor: Int32, count: Int, name: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, count - filled) }
            if result == 0 { break }
            if result < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "\(name): cannot read: \(String(cString: strerror(errno)))")
            }
            filled += result
        }
        return Array(bytes.prefix(filled))
    }

    /// A whole file's bytes.
    static func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        while true {
            let chunk = try read(descriptor, upTo: 1 << 20, name: path)
            if chunk.isEmpty { return contents }
            contents += chunk
        }
    }
}
