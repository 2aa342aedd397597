#if canImport(Glibc)
    public import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

extension IPAddress {
    /// Reads an address out of a `sockaddr_storage` filled by the kernel; `nil` for other families.
    public init?(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self = .v4(IPv4Address(value: UInt32(bigEndian: address.sin_addr.s_addr)))
        case AF_INET6:
            var address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: &address.sin6_addr) { Array($0) }
            self = .v6(IPv6Address(bytes: bytes, scopeID: address.sin6_scope_id))
        default:
            return nil
        }
    }

    /// The address as a `sockaddr_storage` with the given port, and its meaningful length.
    public func socketAddress(port: UInt16 = 0) -> (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        switch self {
        case .v4(let address):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = address.value.bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin, as: sockaddr_in.self) }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
        case .v6(let address):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = address.scopeID
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin6, as: sockaddr_in6.self) }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }
}

extension IPAddress {
    /// `10.0.0.1:53`, or `[fd00::1]:53` for IPv6.
    public func endpoint(port: UInt16) -> String {
        family == .ipv6 ? "[\(self)]:\(port)" : "\(self):\(port)"
    }
}
