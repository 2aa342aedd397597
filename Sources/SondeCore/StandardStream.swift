#if canImport(Glibc)
    import Glibc
#endif

/// Standard output or error, written without buffering: one `write(2)` per call (retried until complete), so
/// streamed lines appear the moment they happen and lines from concurrent writers do not interleave mid-line.
public enum StandardStream: Sendable {
    case output
    case error

    public func write(_ text: String) {
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
