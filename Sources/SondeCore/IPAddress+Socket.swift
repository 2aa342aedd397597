#if canImport(Glibc)
    public import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

/// Why a probe's socket could not be set up: the errno, and whether it was the socket itself or the bind to the
/// source address that failed.
public struct SocketSetupError: Error, Sendable {
    public var code: Int32
    /// The source address the bind refused; `nil` when the socket itself could not be opened.
    public var source: IPAddress?
}

extension IPAddress {
    /// A non-blocking, close-on-exec socket (`SOCK_STREAM` or `SOCK_DGRAM`) of this address's family, as the TCP, UDP
    /// and DNS probes open one per attempt: with `receivingErrors`, the kernel queues the ICMP errors it matches to
    /// the socket with who sent them (`IP_RECVERR` / `IPV6_RECVERR`); bound to `source` when one is given. The
    /// caller closes it.
    public func probeSocket(_ type: __socket_type, receivingErrors: Bool, source: IPAddress?) throws(SocketSetupError) -> Int32 {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let descriptor = socket(domain, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketSetupError(code: errno) }
        if receivingErrors {
            var on: Int32 = 1
            if family == .ipv4 {
                setsockopt(descriptor, Int32(IPPROTO_IP), IP_RECVERR, &on, socklen_t(MemoryLayout<Int32>.size))
            } else {
                setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_RECVERR, &on, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        if let source {
            var (local, length) = source.socketAddress()
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            guard bound == 0 else {
                let code = errno
                close(descriptor)
                throw SocketSetupError(code: code, source: source)
            }
        }
        return descriptor
    }
}

extension IPAddress {
    /// Refuses a `source` parameter (`-s`, `-b`) of the other family than this resolved target's.
    public func checkSource(_ source: IPAddress?, parameter: String = "source") throws(ProbeError) {
        guard let source, source.family != family else { return }
        throw ProbeError.invalid(parameter: parameter, value: source.description, allowed: "an address of the target's family (\(family.rawValue))")
    }
}
