#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole small files (settings, tokens, `/etc/resolv.conf`, `/proc/self/status`) read with plain system calls:
/// no Foundation and no threads, so it is safe before the privilege drop.
public enum SmallFile {
    /// Why a file could not be read: the system's message (`No such file or directory`).
    public struct ReadError: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The file's bytes, read until its end or until more than `maxBytes` have been read: a result longer than
    /// `maxBytes` means the file is larger, and the caller decides whether that is an error.
    public static func contents(of path: String, maxBytes: Int) throws(ReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(description: ErrorNumber.message(errno)) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: min(65_536, maxBytes + 1))
        while bytes.count <= maxBytes {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(description: ErrorNumber.message(errno))
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }

    /// The whole file, or ``ReadError`` `larger than N KiB/MiB` when it holds more than `limit` bytes.
    public static func whole(of path: String, atMost limit: Int) throws(ReadError) -> [UInt8] {
        let bytes = try contents(of: path, maxBytes: limit)
        guard bytes.count <= limit else {
            let size = limit >= 1 << 20 ? "\(limit >> 20) MiB" : limit >= 1 << 10 ? "\(limit >> 10) KiB" : "\(limit) bytes"
            throw ReadError(description: "larger than \(size)")
        }
        return bytes
    }
}
