#if canImport(Glibc)
    import Glibc
#endif

/// What privileges a thread holds, read from `/proc/thread-self/status`: the same figures an operator reads
/// from outside with `grep Cap /proc/<pid>/task/*/status`.
public struct PrivilegeReport: Sendable, Codable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    /// Capability sets as the kernel prints them (16 hex digits).
    public var effective: String
    public var permitted: String
    public var bounding: String
    public var inheritable: String
    public var ambient: String
    public var noNewPrivs: Bool

    /// The calling thread's privileges.
    public static func current() -> PrivilegeReport {
        parse(readStatus("/proc/thread-self/status"))
    }

    /// Parses the `Uid:`, `Gid:`, `Cap*:` and `NoNewPrivs:` lines of a `/proc/…/status` file.
    public static func parse(_ status: String) -> PrivilegeReport {
        var fields: [Substring: [Substring]] = [:]
        for line in status.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
        }
        func first(_ key: Substring) -> Substring { fields[key]?.first ?? "" }
        return PrivilegeReport(
            uid: UInt32(first("Uid")) ?? UInt32.max,
            gid: UInt32(first("Gid")) ?? UInt32.max,
            effective: String(first("CapEff")),
            permitted: String(first("CapPrm")),
            bounding: String(first("CapBnd")),
            inheritable: String(first("CapInh")),
            ambient: String(first("CapAmb")),
            noNewPrivs: first("NoNewPrivs") == "1"
        )
    }

    /// How many threads the process has (`Threads:` in `/proc/self/status`).
    public static func threadCount() -> Int {
        let status = readStatus("/proc/self/status")
        for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst("Threads:".count).trimmingCharacters()) ?? 0
        }
        return 0
    }

    public var description: String {
        "uid=\(uid) gid=\(gid) effective=\(Capabilities.names(effective)) permitted=\(Capabilities.names(permitted)) "
            + "bounding=\(Capabilities.names(bounding)) inheritable=\(Capabilities.names(inheritable)) "
            + "ambient=\(Capabilities.names(ambient)) no_new_privs=\(noNewPrivs ? 1 : 0)"
    }

    static func readStatus(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> Substring {
        drop { $0 == " " || $0 == "\t" }
    }
}

/// Capability bit masks as names (`cap_net_raw`), for logs.
public enum Capabilities {
    /// CAP_NET_RAW alone, as the kernel prints a set.
    public static let netRawOnly = "0000000000002000"
    public static let none = "0000000000000000"

    static let allNames = [
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
        "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
        "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
        "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
        "cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
        "cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
        "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
    ]

    /// `cap_net_raw`, `none`, or a comma-separated list; the hex mask when it holds unknown bits.
    public static func names(_ hex: String) -> String {
        guard let mask = UInt64(hex, radix: 16) else { return hex }
        if mask == 0 { return "none" }
        var names: [String] = []
        for bit in 0..<64 where mask & (1 << UInt64(bit)) != 0 {
            guard bit < allNames.count else { return "0x" + hex }
            names.append(allNames[bit])
        }
        return names.count > 8 ? "0x\(hex) (\(names.count) capabilities)" : names.joined(separator: ",")
    }
}
