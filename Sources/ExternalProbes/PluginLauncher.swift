import CSondeSpawn
import SondeCore
import SondeIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts plug-ins under a user of their own: a process forked from Sonde while it is still root and
/// single-threaded, before any secret is read, that runs as the plug-in user with no capabilities, NO_NEW_PRIVS
/// and not dumpable. A plug-in then cannot signal or ptrace Sonde (another uid; Sonde is not dumpable either),
/// nor read a token file that only root or Sonde's user may read; the launcher itself holds nothing worth taking.
///
/// Sonde sends the checked executable's descriptor and the child's pipe ends with each request; the launcher
/// answers with the pid, kills the process group when asked and reports each exit. It kills what a plug-in
/// leaves behind (it is their subreaper) and everything when Sonde is gone.
public final class PluginLauncher: Sendable {
    /// The user plug-ins run as.
    public let uid: UInt32
    public let gid: UInt32
    private let socket: Int32
    private let state = Mutex(State())

    private struct State {
        var nextID: UInt32 = 1
        var spawned: [UInt32: (pid: Int32, code: Int32)] = [:]
        var exited: [Int32: Int32] = [:]
        /// Spawns whose caller stopped waiting: the child is killed when its pid arrives.
        var abandonedSpawns: Set<UInt32> = []
        /// Children whose caller stopped waiting for the exit: the report is dropped when it arrives, so that a
        /// later child given the same pid never reads it.
        var abandonedExits: Set<Int32> = []
        var gone = false
        var reading = false
    }

    /// The launcher in use, if Sonde started one; plug-ins run as Sonde's own user otherwise.
    public static var installed: PluginLauncher? { current.withLock { $0 } }
    private static let current = Mutex<PluginLauncher?>(nil)

    /// The account plug-ins run as when Sonde starts as root and none is configured.
    public static let defaultUser = (uid: UInt32(65533), gid: UInt32(65533))

    /// Forks the launcher and installs it. Call as root, single-threaded, before the token is read.
    /// - Throws: the errno value (as ``LaunchError``) when it cannot start or cannot become the plug-in user.
    public static func start(uid: UInt32, gid: UInt32) throws(LaunchError) {
        var socket: Int32 = -1
        var pid: pid_t = 0
        let code = sonde_launcher_start(uid_t(uid), gid_t(gid), &socket, &pid)
        guard code == 0 else { throw LaunchError(uid: uid, gid: gid, code: code) }
        let launcher = PluginLauncher(uid: uid, gid: gid, socket: socket)
        current.withLock { $0 = launcher }
    }

    private init(uid: UInt32, gid: UInt32, socket: Int32) {
        self.uid = uid
        self.gid = gid
        self.socket = socket
    }

    /// Whether the plug-in user could read the file at `path` by its mode bits (owner, group, others), following
    /// symbolic links as an open would. A file that cannot be examined counts as readable.
    public func mayRead(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return true }
        if info.st_uid == uid { return info.st_mode & S_IRUSR != 0 }
        if info.st_gid == gid { return info.st_mode & S_IRGRP != 0 }
        return info.st_mode & S_IROTH != 0
    }

    /// Starts the file `descriptor` refers to with its pipes in `child`; 0 or an errno value.
    func spawn(descriptor: Int32, argv: [UnsafeMutablePointer<CChar>?], envp: [UnsafeMutablePointer<CChar>?], child: inout sonde_child) async -> Int32
    {
        startReading()
        var ends: [Int32] = [-1, -1, -1]
        let made = sonde_make_pipes(&child, &ends)
        guard made == 0 else { return made }
        defer { for end in ends { close(end) } }
        let id = state.withLock { state -> UInt32 in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        let deadline = ContinuousClock.now + .seconds(5)
        var code = sonde_launcher_request_spawn(socket, id, descriptor, ends, argv, envp)
        // A full socket buffer lasts moments; the reactor is not asked (its one waiter per descriptor is the reader).
        while code == EAGAIN, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
            code = sonde_launcher_request_spawn(socket, id, descriptor, ends, argv, envp)
        }
        if [EPIPE, ECONNRESET, ENOTCONN].contains(code) { state.withLock { $0.gone = true } }
        while code == 0 {
            let timedOut = ContinuousClock.now >= deadline
            let answer = state.withLock { state -> (pid: Int32, code: Int32)? in
                if let answer = state.spawned.removeValue(forKey: id) { return answer }
                if state.gone { return (0, ENOTCONN) }
                guard timedOut else { return nil }
                // The child, if it starts after all, is killed when its pid arrives.
                state.abandonedSpawns.insert(id)
                return (0, ETIMEDOUT)
            }
            if let answer {
                child.pid = answer.pid
                if answer.code != 0 { code = answer.code }
                break
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        if code != 0 { sonde_close_child(&child) }
        return code
    }

    /// Whether the launcher has exited (only a plug-in, which runs as its user, could have killed it): no plug-in
    /// can run until Sonde restarts.
    public var isGone: Bool { state.withLock { $0.gone } }

    /// Kills the child's process group.
    func kill(_ pid: Int32) {
        _ = sonde_launcher_request_kill(socket, pid)
    }

    /// The child's wait status once it has exited, waiting until `deadline`; `nil` if it still runs then.
    func exitStatus(of pid: Int32, until deadline: ContinuousClock.Instant) async -> Int32? {
        while true {
            let status = state.withLock { state -> Int32? in
                if let status = state.exited.removeValue(forKey: pid) { return status }
                return state.gone ? -1 : nil
            }
            if let status { return status }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Stops waiting for the child `pid`: it is killed, and its exit report is dropped when it comes.
    func abandonRunning(_ pid: Int32) {
        kill(pid)
        state.withLock { state in
            if state.exited.removeValue(forKey: pid) == nil { state.abandonedExits.insert(pid) }
        }
    }

    /// One reader files the launcher's answers for whoever waits for them.
    private func startReading() {
        let first = state.withLock { state -> Bool in
            defer { state.reading = true }
            return !state.reading
        }
        guard first else { return }
        Task.detached { [self] in
            var message = sonde_launch_message()
            while true {
                switch sonde_launcher_receive(socket, &message) {
                case 1:
                    state.withLock { state in
                        switch Int(message.type) {
                        case Int(SONDE_LAUNCH_SPAWNED):
                            if state.abandonedSpawns.remove(message.id) == nil {
                                state.spawned[message.id] = (message.pid, message.value)
                            } else if message.value == 0 {
                                // Killed as soon as it is known; the exit that follows is not waited for.
                                _ = sonde_launcher_request_kill(socket, message.pid)
                                state.abandonedExits.insert(message.pid)
                            }
                        case Int(SONDE_LAUNCH_EXITED):
                            if state.abandonedExits.remove(message.pid) == nil { state.exited[message.pid] = message.value }
                        default: break
                        }
                    }
                case 0:
                    _ = await Reactor.shared.wait(for: socket, .readable, until: .now + .seconds(3600))
                default:
                    state.withLock { $0.gone = true }
                    return
                }
            }
        }
    }
}

/// The plug-in launcher could not start or could not become the plug-in user.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32
    public let code: Int32

    public var description: String {
        "cannot start the plug-in launcher as \(uid):\(gid): \(ErrorNumber.message(code)) (set --plugin-user to an unused uid:gid other than Sonde's)"
    }
}
