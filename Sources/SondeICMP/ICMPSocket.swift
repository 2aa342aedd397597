import CSondeNet
import SondeCore

#if canImport(Glibc)
    import Glibc
#endif

/// How an ICMP socket was obtained.
public enum ICMPSocketMode: String, Sendable, Codable {
    /// `SOCK_RAW`: needs CAP_NET_RAW; Sonde chooses the identifier and sees ICMP errors directly.
    case raw
    /// `SOCK_DGRAM` "ping socket": unprivileged where `net.ipv4.ping_group_range` allows; the kernel assigns
    /// the identifier and delivers errors through the socket's error queue.
    case datagram
}

/// Path MTU discovery for sent probes (`ping -M`): `do` sets don't-fragment.
public enum PMTUDiscovery: String, Sendable, CaseIterable {
    case `do`, want, dont, probe

    package var socketValue: Int32 {
        switch self {
        case .dont: 0
        case .want: 1
        case .do: 2
        case .probe: 3
        }
    }
}

/// One open ICMP or ICMPv6 socket, configured for echo: receive timestamps, TTL/hop limit, type filters.
package final class ICMPSocket: Sendable {
    package let descriptor: Int32
    package let family: AddressFamily
    package let mode: ICMPSocketMode
    /// The echo identifier replies carry: chosen by Sonde on raw sockets, by the kernel on ping sockets.
    package let identifier: UInt16
    /// A per-socket random token carried in each request's data, to recognise our own replies.
    package let token: UInt32

    private init(descriptor: Int32, family: AddressFamily, mode: ICMPSocketMode, identifier: UInt16) {
        self.descriptor = descriptor
        self.family = family
        self.mode = mode
        self.identifier = identifier
        self.token = UInt32.random(in: 1...UInt32.max)
    }

    deinit { close(descriptor) }

    /// Raw IPv4 sockets deliver the IP header before the ICMP message.
    package var deliversIPHeader: Bool { family == .ipv4 && mode == .raw }

    /// Opens a socket: raw if permitted, else an unprivileged ping socket, else an error naming both fixes.
    ///
    /// - Parameters:
    ///   - mode: force one mode instead of trying raw first.
    ///   - identifier: the echo identifier for a raw socket (ignored for ping sockets).
    package static func open(
        _ family: AddressFamily,
        mode: ICMPSocketMode? = nil,
        identifier: UInt16 = UInt16.random(in: 1...UInt16.max),
        pmtu: PMTUDiscovery? = nil
    ) throws(ProbeError) -> ICMPSocket {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let proto = family == .ipv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        var rawError: Int32 = 0
        if mode != .datagram {
            let fd = socket(domain, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
            if fd >= 0 {
                let socket = ICMPSocket(descriptor: fd, family: family, mode: .raw, identifier: identifier)
                try socket.configure(pmtu: pmtu)
                return socket
            }
            rawError = errno
            guard mode == nil, rawError == EPERM || rawError == EACCES else {
                throw unavailable(family, rawError, mode: .raw)
            }
        }
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else {
            let datagramError = errno
            if mode == nil, datagramError == EACCES || datagramError == EPERM {
                throw ProbeError(
                    .socketUnavailable,
                    "cannot open an ICMP socket: raw sockets need CAP_NET_RAW (run as root, or "
                        + "`setcap cap_net_raw=p` on the sonde binary), and unprivileged ICMP sockets are not "
                        + "allowed for group \(getegid()) (set `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, "
                        + "in Kubernetes the pod sysctl net.ipv4.ping_group_range)"
                )
            }
            throw unavailable(family, datagramError, mode: .datagram)
        }
        // The kernel picks the identifier when the socket is bound to "port" 0; read it back.
        var (address, length) = (family == .ipv4 ? IPAddress.v4(IPv4Address(value: 0)) : .v6(IPv6Address(bytes: Array(repeating: 0, count: 16))))
            .socketAddress()
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw unavailable(family, error, mode: .datagram)
        }
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = withUnsafeBytes(of: &address) { bytes -> UInt16 in
            // sin_port and sin6_port sit at the same offset, in network order.
            UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        }
        let socket = ICMPSocket(descriptor: fd, family: family, mode: .datagram, identifier: port)
        try socket.configure(pmtu: pmtu)
        return socket
    }

    private static func unavailable(_ family: AddressFamily, _ code: Int32, mode: ICMPSocketMode) -> ProbeError {
        let name = family == .ipv4 ? "ICMP" : "ICMPv6"
        if code == EAFNOSUPPORT {
            return ProbeError(.socketUnavailable, "cannot open an \(name) socket: \(family == .ipv4 ? "IPv4" : "IPv6") is not available on this host")
        }
        return ProbeError(.socketUnavailable, "cannot open a \(mode.rawValue) \(name) socket: \(ErrorNumber.describe(code))")
    }

    private func configure(pmtu: PMTUDiscovery?) throws(ProbeError) {
        try set(SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS")
        _ = setOption(SOL_SOCKET, SO_RCVBUF, 1 << 20)
        switch family {
        case .ipv4:
            try set(Int32(IPPROTO_IP), IP_RECVTTL, 1, "IP_RECVTTL")
            if mode == .raw {
                let mask = ICMPType.V4.received.reduce(UInt32(0)) { $0 | 1 << UInt32($1) }
                guard sonde_set_icmp_filter(descriptor, mask) == 0 else { throw failure("ICMP_FILTER") }
            } else {
                try set(Int32(IPPROTO_IP), IP_RECVERR, 1, "IP_RECVERR")
            }
            if let pmtu { try set(Int32(IPPROTO_IP), IP_MTU_DISCOVER, pmtu.socketValue, "IP_MTU_DISCOVER") }
        case .ipv6:
            try set(Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")
            if mode == .raw {
                let types = ICMPType.V6.received
                guard sonde_set_icmp6_filter(descriptor, types, Int32(types.count)) == 0 else {
                    throw failure("ICMP6_FILTER")
                }
            } else {
                try set(Int32(IPPROTO_IPV6), IPV6_RECVERR, 1, "IPV6_RECVERR")
            }
            if let pmtu { try set(Int32(IPPROTO_IPV6), IPV6_MTU_DISCOVER, pmtu.socketValue, "IPV6_MTU_DISCOVER") }
        }
    }

    private func set(_ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(ProbeError) {
        guard setOption(level, name, value) else { throw failure(label) }
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    private func failure(_ option: String) -> ProbeError {
        ProbeError(.socketUnavailable, "cannot configure the ICMP socket (\(option)): \(ErrorNumber.describe(errno))")
    }
}
