#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The two IP address families.
public enum AddressFamily: String, Sendable, Codable, CaseIterable {
    case ipv4
    case ipv6
}

/// An IPv4 or IPv6 address; IPv6 may carry a zone (`fe80::1%eth0`).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text, with an optional `%zone` (interface name or index)
    /// on IPv6. Returns `nil` for anything else, including an unknown zone.
    public init?(_ text: String) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    /// Same address, ignoring an IPv6 zone that only one side carries.
    public func isSameHost(as other: IPAddress) -> Bool {
        switch (self, other) {
        case (.v4(let a), .v4(let b)): a == b
        case (.v6(let a), .v6(let b)):
            a.bytes == b.bytes && (a.scopeID == 0 || b.scopeID == 0 || a.scopeID == b.scopeID)
        default: false
        }
    }
}

/// An IPv4 address, stored as its 32-bit value in host byte order.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public init?(_ text: String) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        value = UInt32(bigEndian: address.s_addr)
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String {
        bytes.map(String.init).joined(separator: ".")
    }
}

/// An IPv6 address with its scope (zone) for link-local use.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The 16 address bytes in network order.
    public var bytes: [UInt8]
    /// The interface index of the zone, 0 when there is none.
    public var scopeID: UInt32

    public init(bytes: [UInt8], scopeID: UInt32 = 0) {
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        self.bytes = bytes
        self.scopeID = scopeID
    }

    public init?(_ text: String) {
        var addressText = Substring(text)
        var scope: UInt32 = 0
        if let percent = text.firstIndex(of: "%") {
            addressText = text[..<percent]
            let zone = String(text[text.index(after: percent)...])
            guard !zone.isEmpty else { return nil }
            if let index = UInt32(zone) {
                scope = index
            } else {
                scope = if_nametoindex(zone)
                guard scope != 0 else { return nil }
            }
        }
        var address = in6_addr()
        guard inet_pton(AF_INET6, String(addressText), &address) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &address) { Array($0) }
        scopeID = scope
    }

    public var isLinkLocal: Bool { bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 }

    public var description: String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard scopeID != 0 else { return text }
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        if if_indextoname(scopeID, &name) != nil {
            return text + "%" + String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text + "%\(scopeID)"
    }
}
