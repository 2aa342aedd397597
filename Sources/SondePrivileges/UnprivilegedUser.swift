#if canImport(Glibc)
    import Glibc
#endif

/// The account Sonde switches to when started as root: `NAME`, `UID` or `UID:GID` (default `nobody`).
public struct UnprivilegedUser: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// `nobody` as Debian and most distributions number it, 65534:65534 (looked up by number: no account
    /// database is read at start-up).
    public static let nobody = UnprivilegedUser(uid: 65534, gid: 65534)

    /// Parses `NAME`, `UID` or `UID:GID`. A bare name or UID takes the account's primary group (for a UID not
    /// in the account database, the same number).
    public init(_ text: String, option: String = "--user") throws(PrivilegeError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else { throw .invalidUser(text, option: option) }
        let userPart = String(parts[0])
        if let number = UInt32(userPart) {
            uid = number
            gid = getpwuid(number).map { $0.pointee.pw_gid } ?? number
        } else if let entry = getpwnam(userPart) {
            uid = entry.pointee.pw_uid
            gid = entry.pointee.pw_gid
        } else {
            throw .invalidUser(text, option: option)
        }
        if parts.count == 2 {
            let groupPart = String(parts[1])
            if let number = UInt32(groupPart) {
                gid = number
            } else if let group = getgrnam(groupPart) {
                gid = group.pointee.gr_gid
            } else {
                throw .invalidUser(text, option: option)
            }
        }
        guard uid != 0, gid != 0 else { throw .rootUser(text, option: option) }
    }

    public var description: String { "\(uid):\(gid)" }
}
