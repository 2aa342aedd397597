#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// errno values as names and messages (`EHOSTUNREACH: No route to host`).
public enum ErrorNumber {
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case EACCES: "EACCES"
        case EINVAL: "EINVAL"
        case EMSGSIZE: "EMSGSIZE"
        case ENOBUFS: "ENOBUFS"
        case EAGAIN: "EAGAIN"
        case ENETUNREACH: "ENETUNREACH"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case ENODEV: "ENODEV"
        case ENXIO: "ENXIO"
        case ECONNREFUSED: "ECONNREFUSED"
        case ETIMEDOUT: "ETIMEDOUT"
        case ENETDOWN: "ENETDOWN"
        case EPROTO: "EPROTO"
        default: "E\(code)"
        }
    }

    public static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    public static func describe(_ code: Int32) -> String { "\(message(code)) (\(name(code)))" }
}
