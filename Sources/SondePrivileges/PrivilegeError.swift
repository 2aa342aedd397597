/// Why Sonde refused to go on: it never runs with more privilege than it reports.
public enum PrivilegeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidUser(String, option: String = "--user")
    case rootUser(String, option: String = "--user")
    case notSingleThreaded(threads: Int)
    case dropFailed(step: String, errno: Int32)
    case verificationFailed(PrivilegeReport)

    public var description: String {
        switch self {
        case .invalidUser(let text, let option):
            "invalid value '\(text)' for \(option): expected a user name, a UID, or UID:GID of an existing account"
        case .rootUser(let text, let option):
            "invalid value '\(text)' for \(option): Sonde does not keep running as root (uid or gid 0); name an unprivileged account"
        case .notSingleThreaded(let threads):
            "cannot drop privileges: the process already has \(threads) threads, and capabilities change per thread; "
                + "this is a bug in Sonde"
        case .dropFailed(let step, let code):
            "cannot drop privileges: \(step) failed (errno \(code)); refusing to run with more privilege than needed"
        case .verificationFailed(let report):
            "privileges after the drop are not what they must be (\(report)); refusing to run"
        }
    }
}
