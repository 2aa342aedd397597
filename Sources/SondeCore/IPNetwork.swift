/// An IPv4 or IPv6 network in CIDR notation: `10.0.0.0/8`, `fd00:ec2::254/128`; a bare address is a
/// network of one (`/32`, `/128`).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The network address, host bits cleared.
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/PREFIX` or a bare address. Returns `nil` for anything else, including a prefix
    /// longer than the family allows or an IPv6 zone.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, !text.contains("%"), let parsed = IPAddress(String(parts[0])) else { return nil }
        let maximum = parsed.family == .ipv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maximum).contains(given), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            length = given
        }
        self.init(address: parsed, prefixLength: length)
    }

    /// The network of `address` with the first `prefixLength` bits kept.
    public init(address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.address = Self.masked(address, to: prefixLength)
    }

    /// Whether `candidate` lies in this network. An IPv6 zone does not take part.
    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.family == address.family else { return false }
        let masked = Self.masked(candidate, to: prefixLength)
        switch (masked, address) {
        case (.v4(let a), .v4(let b)): return a == b
        case (.v6(let a), .v6(let b)): return a.bytes == b.bytes
        default: return false
        }
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func masked(_ address: IPAddress, to length: Int) -> IPAddress {
        switch address {
        case .v4(let v4):
            let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - length)
            return .v4(IPv4Address(value: v4.value & mask))
        case .v6(let v6):
            var bytes = v6.bytes
            for index in bytes.indices {
                let keep = max(0, min(8, length - index * 8))
                bytes[index] &= keep == 0 ? 0 : ~0 << (8 - keep)
            }
            return .v6(IPv6Address(bytes: bytes))
        }
    }
}

extension IPAddress {
    /// The IPv4 address an IPv6 address stands for when it is IPv4-mapped (`::ffff:a.b.c.d`), which the
    /// kernel delivers to that IPv4 address; otherwise the address itself.
    public var unmapped: IPAddress {
        guard case .v6(let v6) = self, v6.bytes[0..<10].allSatisfy({ $0 == 0 }), v6.bytes[10] == 0xff, v6.bytes[11] == 0xff
        else { return self }
        return .v4(IPv4Address(v6.bytes[12], v6.bytes[13], v6.bytes[14], v6.bytes[15]))
    }
}
