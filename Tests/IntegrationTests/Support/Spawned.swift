import Foundation
import Testing

/// A long-running child of a test, started with posix_spawn and reaped with our own waitpid (never Foundation's
/// `Process.waitUntilExit`, whose exit monitoring can miss an exit while other processes start): its output is
/// collected as it comes, signals go to it when the test has *seen* the state it waits for, and every wait is
/// bounded, so no test can hang CI.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let output = Collected()
    let errors = Collected()
    private let lock = NSLock()
    private var status: Int32?

    init(_ arguments: [String]) throws {
        let (child, outputDescriptor, errorDescriptor) = try Shell.spawn(arguments)
        pid = child
        for (descriptor, sink) in [(outputDescriptor, output), (errorDescriptor, errors)] {
            // A thread of its own, not Dispatch's pool: a read that blocks for the child's whole life would hold
            // one of the few pool threads (as many as cores) that every other suite's helpers wait on.
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count <= 0 { break }
                    sink.append(Data(buffer[0..<count]))
                }
                close(descriptor)
            }
        }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
    }

    /// Waits (at most `timeout` seconds) until the output contains `text`; records an issue if it never does.
    @discardableResult
    func waitForOutput(containing text: String, timeout: Double = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.value.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // A sleep that ended late on a loaded machine: look once more before calling it missing.
        if output.value.contains(text) { return true }
        Issue.record("no '\(text)' within \(timeout) s; output so far: \(output.value) \(errors.value)")
        return false
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// The exit status once the child exited (at most `timeout` seconds), or `nil` — then it is killed.
    func wait(timeout: Double = 30) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = exitStatus { return status }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                lock.withLock { status = code }
                // The readers finish once the pipes hit end-of-file.
                try? await Task.sleep(for: .milliseconds(50))
                return code
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
        return nil
    }

    private var exitStatus: Int32? { lock.withLock { status } }
}
