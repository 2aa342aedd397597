import CSondeSpawn
import SondeIO

#if canImport(Glibc)
    import Glibc
#endif

/// One run of an external executable: executed directly (no shell), a minimal environment, its own process
/// group, stdin written then closed, stdout read line by line as it comes, stderr kept (the tail) for messages.
/// Whatever happens, the whole process group is killed and the child reaped before `run` returns.
struct ChildProcess {
    struct Limits: Sendable {
        /// Most bytes read from stdout before the child is stopped.
        var outputBytes = 1 << 20
        /// Longest stdout line.
        var lineBytes = 64 << 10
        /// Stderr bytes kept for messages (the last ones).
        var errorBytes = 4 << 10
    }

    /// How the run ended.
    enum Ending: Sendable, Equatable {
        /// Exited (or was stopped after it said all it had to say); with its wait status.
        case exited(status: Int32)
        /// Still running at the deadline: killed.
        case deadline
        /// Printed more than the limits allow: killed.
        case overflow(String)
        /// Its output was refused by the reader (`onLine` returned `.stop(reason)`): killed.
        case refused(String)
    }

    enum LineVerdict {
        case more, done
        case stop(String)
    }

    struct Outcome: Sendable {
        var ending: Ending
        var errorTail: String
    }

    /// The environment every external probe gets, and nothing else.
    static let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME=/", "SONDE_PROBE_PROTOCOL=1"]

    let path: String
    /// The checked file to execute instead of whatever `path` names now.
    var file: PluginFile?
    let arguments: [String]
    var limits = Limits()

    init(path: String, file: PluginFile? = nil, arguments: [String]) {
        self.path = path
        self.file = file
        self.arguments = arguments
    }

    /// Runs the child with `input` on stdin; `onLine` sees each stdout line as it arrives and says whether to
    /// read on. Fails only when the executable cannot be started (with the errno).
    func run(
        input: [UInt8], deadline: ContinuousClock.Instant, onLine: (String) -> LineVerdict
    ) async -> Result<Outcome, SpawnError> {
        var child = sonde_child()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = Self.environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        let descriptor = file?.descriptor ?? -1
        // Under the plug-in user when Sonde has a launcher; as Sonde's own user otherwise.
        let launcher = PluginLauncher.installed
        let start = { () async -> Int32 in
            if let launcher, descriptor >= 0 {
                return await launcher.spawn(descriptor: descriptor, argv: argv, envp: envp, child: &child)
            }
            return ChildRegistry.spawn {
                let code = sonde_spawn(path, descriptor, argv, envp, &child)
                return (code, child.pid)
            }
        }
        var code = await start()
        // ETXTBSY: the file is still open for writing somewhere (being installed, or a descriptor inherited by a
        // process forked meanwhile); that lasts moments.
        for _ in 0..<10 where code == ETXTBSY {
            try? await Task.sleep(for: .milliseconds(50))
            code = await start()
        }
        guard code == 0 else { return .failure(SpawnError(code: code)) }
        defer {
            close(child.stdout_fd)
            close(child.stderr_fd)
        }

        await write(input, to: child.stdin_fd, until: deadline)
        close(child.stdin_fd)

        var errorTail: [UInt8] = []
        var ending: Ending?
        var pending: [UInt8] = []
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 16_384)
        reading: while ending == nil {
            drainErrors(child.stderr_fd, into: &errorTail)
            let count = buffer.withUnsafeMutableBytes { read(child.stdout_fd, $0.baseAddress, $0.count) }
            if count > 0 {
                total += count
                if total > limits.outputBytes {
                    ending = .overflow("printed more than \(limits.outputBytes) bytes")
                    break
                }
                pending += buffer[0..<count]
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    switch onLine(line) {
                    case .more: continue
                    case .done:
                        ending = .exited(status: 0)
                        break reading
                    case .stop(let reason):
                        ending = .refused(reason)
                        break reading
                    }
                }
                if pending.count > limits.lineBytes {
                    ending = .overflow("printed a line longer than \(limits.lineBytes) bytes")
                }
                continue
            }
            if count == 0 {
                if !pending.isEmpty, case .stop(let reason) = onLine(String(decoding: pending, as: UTF8.self)) {
                    ending = .refused(reason)
                }
                break
            }
            guard errno == EAGAIN || errno == EINTR else { break }
            switch await Reactor.shared.wait(for: child.stdout_fd, .readable, until: deadline) {
            case .ready: continue
            case .timedOut: ending = .deadline
            case .cancelled: ending = .deadline
            }
        }
        // Whatever it started goes with it; then collect the exit status.
        let finishedCleanly = ending == nil || ending == .exited(status: 0)
        let grace: ContinuousClock.Instant = finishedCleanly ? .now + .seconds(2) : .now
        let status: Int32
        if let launcher, descriptor >= 0 {
            if !finishedCleanly { launcher.kill(child.pid) }
            // The launcher kills the group and what escaped it when the child exits.
            if let exited = await launcher.exitStatus(of: child.pid, until: grace) {
                status = exited
            } else {
                launcher.kill(child.pid)
                if let exited = await launcher.exitStatus(of: child.pid, until: .now + .seconds(5)) {
                    status = exited
                } else {
                    launcher.abandonRunning(child.pid)
                    status = -1
                }
            }
        } else {
            if !finishedCleanly { sonde_kill_group(child.pid) }
            status = await Self.reap(child.pid, deadline: grace)
        }
        drainErrors(child.stderr_fd, into: &errorTail)
        let tail = String(decoding: errorTail.suffix(limits.errorBytes), as: UTF8.self)
        switch ending {
        case nil, .exited?: return .success(Outcome(ending: .exited(status: status), errorTail: tail))
        case let other?: return .success(Outcome(ending: other, errorTail: tail))
        }
    }

    /// Waits for the child's exit for at most until `deadline` (it closed stdout, so it is usually gone),
    /// then kills its whole group — anything it left running — and reaps it: no zombie, no straggler. The
    /// group is killed before the reap, while the exited leader still holds the group id.
    private static func reap(_ pid: pid_t, deadline: ContinuousClock.Instant) async -> Int32 {
        while ContinuousClock.now < deadline, sonde_has_exited(pid) == 0 {
            try? await Task.sleep(for: .milliseconds(2))
        }
        sonde_kill_group(pid)
        let status = sonde_reap(pid)
        // What escaped the group (a new session) was handed to Sonde as the child's subreaper: kill it too.
        ChildRegistry.finished(pid)
        ChildRegistry.killOrphans()
        return status
    }

    private func write(_ bytes: [UInt8], to descriptor: Int32, until deadline: ContinuousClock.Instant) async {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
                continue
            }
            guard written < 0, errno == EAGAIN || errno == EINTR else { return }
            guard case .ready = await Reactor.shared.wait(for: descriptor, .writable, until: deadline) else { return }
        }
    }

    private func drainErrors(_ descriptor: Int32, into tail: inout [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            tail += buffer[0..<count]
            if tail.count > limits.errorBytes * 2 { tail.removeFirst(tail.count - limits.errorBytes) }
        }
    }
}

/// The executable could not be started.
struct SpawnError: Error, Sendable {
    let code: Int32
}
