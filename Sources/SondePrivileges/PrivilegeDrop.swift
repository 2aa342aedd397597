import CLibcap

#if canImport(Glibc)
    import Glibc
#endif

/// How Sonde came to hold the right to send ICMP, after ``PrivilegeDrop/drop(to:keepNetRaw:)``.
public enum PrivilegeMode: String, Sendable, Codable {
    /// Started as root: switched to an unprivileged account keeping only CAP_NET_RAW (or nothing).
    case rootDropped = "root-dropped"
    /// Started as a non-root user holding CAP_NET_RAW (file capability or ambient): reduced to exactly it.
    case netRawOnly = "cap-net-raw"
    /// No CAP_NET_RAW: unprivileged ICMP datagram sockets only, where `net.ipv4.ping_group_range` allows.
    case unprivileged
}

/// The least-privilege step at start-up, done once, while the process has a single thread.
///
/// Capabilities changed with `cap_set_proc` apply to the calling thread only, and threads inherit them when
/// created; so the drop must come before any NIO event loop, Dispatch queue, `Task` or `await` starts a thread.
/// Order (verified on Linux 6.x with libcap 2.66):
/// 1. reduce the bounding set to CAP_NET_RAW (needs CAP_SETPCAP in the effective set, so it comes first),
/// 2. set the supplementary groups to the target group,
/// 3. switch uid and gid (`cap_setuid` keeps the permitted set across the switch),
/// 4. keep exactly CAP_NET_RAW permitted and effective, nothing inheritable, no ambient capabilities,
/// 5. set NO_NEW_PRIVS, so no later `exec` can gain anything, and make the process not dumpable, so a child of
///    the same uid (a plug-in) cannot ptrace it or read its memory and environment,
/// 6. read the result back and refuse to go on unless it is exactly that.
public enum PrivilegeDrop {
    /// Drops what Sonde does not need and returns the mode and the resulting privileges.
    ///
    /// - Parameters:
    ///   - user: the account to switch to when running as root (default `nobody`).
    ///   - keepNetRaw: keep CAP_NET_RAW (for raw ICMP sockets opened later); without it nothing is kept.
    /// - Throws: ``PrivilegeError`` for any failure: Sonde must then exit rather than run with more privilege.
    public static func drop(to user: UnprivilegedUser? = nil, keepNetRaw: Bool = true) throws(PrivilegeError) -> (PrivilegeMode, PrivilegeReport) {
        let threads = PrivilegeReport.threadCount()
        guard threads <= 1 else { throw .notSingleThreaded(threads: threads) }
        let holdsNetRaw = sonde_cap_has(cap_value_t(CAP_NET_RAW), CAP_PERMITTED) == 1
        let mode: PrivilegeMode
        if getuid() == 0 || geteuid() == 0 {
            mode = .rootDropped
            let target = user ?? .nobody
            try dropBoundingSet(keepNetRaw: keepNetRaw)
            var group = gid_t(target.gid)
            guard cap_setgroups(group, 1, &group) == 0 else { throw .dropFailed(step: "cap_setgroups", errno: errno) }
            guard cap_setuid(uid_t(target.uid)) == 0 else { throw .dropFailed(step: "cap_setuid", errno: errno) }
            guard (keepNetRaw ? sonde_cap_keep_net_raw() : sonde_cap_clear()) == 0 else {
                throw .dropFailed(step: "cap_set_proc", errno: errno)
            }
        } else if holdsNetRaw, keepNetRaw {
            mode = .netRawOnly
            // Without CAP_SETPCAP the bounding set cannot shrink; NO_NEW_PRIVS below makes it moot.
            if sonde_cap_has(cap_value_t(CAP_SETPCAP), CAP_EFFECTIVE) == 1 { try dropBoundingSet(keepNetRaw: true) }
            guard sonde_cap_keep_net_raw() == 0 else { throw .dropFailed(step: "cap_set_proc", errno: errno) }
        } else {
            mode = .unprivileged
            guard sonde_cap_clear() == 0 else { throw .dropFailed(step: "cap_set_proc", errno: errno) }
        }
        if cap_get_ambient(cap_value_t(CAP_NET_RAW)) >= 0 {
            guard cap_reset_ambient() == 0 else { throw .dropFailed(step: "cap_reset_ambient", errno: errno) }
        }
        guard sonde_set_no_new_privs() == 0 else { throw .dropFailed(step: "PR_SET_NO_NEW_PRIVS", errno: errno) }
        guard sonde_set_not_dumpable() == 0 else { throw .dropFailed(step: "PR_SET_DUMPABLE", errno: errno) }

        let after = PrivilegeReport.current()
        let kept = keepNetRaw && mode != .unprivileged
        let expected = kept ? Capabilities.netRawOnly : Capabilities.none
        let boundingOK = mode != .rootDropped || after.bounding == expected
        guard after.effective == expected, after.permitted == expected, after.inheritable == Capabilities.none,
            after.ambient == Capabilities.none, after.noNewPrivs, after.uid != 0, after.gid != 0 || mode != .rootDropped,
            boundingOK
        else { throw .verificationFailed(after) }
        return (mode, after)
    }

    /// Makes a permitted CAP_NET_RAW effective, so raw sockets can be opened, for a non-root process that holds it
    /// only as permitted: a binary with the file capability `cap_net_raw=p` (the container image's), which
    /// starts even where the capability is not granted (`--cap-drop ALL`; `=ep` would make exec fail there).
    /// Does nothing for root or when CAP_NET_RAW is not permitted.
    public static func raiseNetRaw() {
        guard geteuid() != 0, sonde_cap_has(cap_value_t(CAP_NET_RAW), CAP_PERMITTED) == 1,
            sonde_cap_has(cap_value_t(CAP_NET_RAW), CAP_EFFECTIVE) == 0
        else { return }
        _ = sonde_cap_keep_net_raw()
    }

    private static func dropBoundingSet(keepNetRaw: Bool) throws(PrivilegeError) {
        let last = cap_max_bits()
        for capability in 0..<last where !(keepNetRaw && capability == cap_value_t(CAP_NET_RAW)) {
            guard cap_drop_bound(capability) == 0 else { throw .dropFailed(step: "cap_drop_bound(\(capability))", errno: errno) }
        }
    }
}
