import CSondeSpawn
import SondeCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A plug-in executable held open from the moment it was checked: what runs is that file, whatever its path
/// names later (a rename, a symbolic link swapped in), and it is checked again before every run.
final class PluginFile: Sendable {
    let path: String
    /// An `O_PATH` descriptor of the file itself (never a symbolic link's target).
    let descriptor: Int32

    /// Opens `path` without following a final symbolic link; `nil` with the errno when it cannot be opened.
    static func open(_ path: String) -> Result<PluginFile, SpawnError> {
        let descriptor = sonde_open_executable(path)
        guard descriptor >= 0 else { return .failure(SpawnError(code: errno)) }
        return .success(PluginFile(path: path, descriptor: descriptor))
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Why the file may not run (now), or `nil`: the trust rules of ``ExternalProbeLoader/trustProblem(_:isDirectory:)``
    /// on the open file itself.
    func trustProblem() -> String? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return "cannot be checked: \(ErrorNumber.message(errno))" }
        return ExternalProbeLoader.trustProblem(info, isDirectory: false)
    }
}

/// The children Sonde is running now, so that whatever they leave behind can be told apart and killed.
enum ChildRegistry {
    private static let running = Mutex<Set<pid_t>>([])
    private static let subreaper = Mutex<Bool>(false)

    /// Becomes the subreaper of this process's descendants (once): a grandchild that escapes its process group
    /// (`setsid`) is handed to Sonde when its parent exits, and killed then.
    static func adoptOrphans() {
        subreaper.withLock { enabled in
            guard !enabled else { return }
            enabled = sonde_become_subreaper() == 0
        }
    }

    /// Starts a child and records it, atomically with respect to ``killOrphans()``.
    static func spawn(_ start: () -> (code: Int32, pid: pid_t)) -> Int32 {
        running.withLock { pids in
            let (code, pid) = start()
            if code == 0 { pids.insert(pid) }
            return code
        }
    }

    /// The child was reaped: what is left of it is an orphan now.
    static func finished(_ pid: pid_t) {
        running.withLock { _ = $0.remove(pid) }
    }

    /// Kills every child of Sonde that is not a running plug-in: the descendants finished plug-ins left behind.
    @discardableResult
    static func killOrphans() -> Int {
        running.withLock { pids in
            let known = Array(pids)
            return Int(known.withUnsafeBufferPointer { sonde_kill_orphans($0.baseAddress, Int32($0.count)) })
        }
    }
}
