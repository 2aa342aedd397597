import SondeCore

/// Unbuffered writes to standard output and error, so streamed lines appear the moment they happen.
enum Output {
    static func write(_ lines: [TextLine]) {
        for line in lines { write(line.text, to: line.stream) }
    }

    static func write(_ text: String, to stream: TextLine.Stream = .standardOutput) {
        (stream == .standardOutput ? StandardStream.output : .error).write(text + "\n")
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
