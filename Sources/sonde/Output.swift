import SondeCore

#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to standard output and error, so streamed lines appear the moment they happen.
enum Output {
    static func write(_ lines: [TextLine]) {
        for line in lines { write(line.text, to: line.stream) }
    }

    static func write(_ text: String, to stream: TextLine.Stream = .standardOutput) {
        let descriptor = stream == .standardOutput ? STDOUT_FILENO : STDERR_FILENO
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
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

    /// A one-line error on standard error, prefixed `sonde:` like other command-line tools.
    static func error(_ message: String) {
        write("sonde: \(message)", to: .standardError)
    }
}

/// Exit codes shared by every probe command, as `ping` uses them.
enum ExitCode: Int32 {
    /// The probe succeeded (ping: some reply arrived; several targets: every target).
    case success = 0
    /// The probe ran and failed (no reply).
    case failure = 1
    /// Bad input or a local error: nothing was probed.
    case usage = 2
}
