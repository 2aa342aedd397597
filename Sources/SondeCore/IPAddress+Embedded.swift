#if canImport(Glibc)
    import Glibc
#endif

extension IPAddress {
    /// The IPv4 addresses an IPv6 address carries and that the network may deliver it to, by the standard
    /// translation and tunnelling schemes: IPv4-compatible `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`
    /// (SIIT), NAT64 `64:ff9b::/96` and the local-use `64:ff9b:1::/48` (RFC 6052/8215), 6to4 `2002::/16`
    /// (RFC 3056) and Teredo `2001::/32` (server and client, RFC 4380). Empty for IPv4 and other IPv6.
    ///
    /// The policy checks each against its IPv4 rules, so `64:ff9b::a9fe:a9fe` cannot reach 169.254.169.254
    /// through a NAT64 gateway that a deny of `169.254.0.0/16` was meant to stop.
    public var embeddedIPv4: [IPv4Address] {
        guard case .v6(let v6) = self else { return [] }
        let b = v6.bytes
        func v4(_ offset: Int, flip: Bool = false) -> IPv4Address {
            let mask: UInt8 = flip ? 0xff : 0
            return IPv4Address(b[offset] ^ mask, b[offset + 1] ^ mask, b[offset + 2] ^ mask, b[offset + 3] ^ mask)
        }
        let zeros = { (range: Range<Int>) in b[range].allSatisfy { $0 == 0 } }
        // ::a.b.c.d (not :: and ::1, which are IPv6's own unspecified and loopback addresses).
        if zeros(0..<12), !zeros(12..<15) || b[15] > 1 { return [v4(12)] }
        if zeros(0..<8), b[8] == 0xff, b[9] == 0xff, zeros(10..<12) { return [v4(12)] }
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xff, b[3] == 0x9b {
            if zeros(4..<12) { return [v4(12)] }
            // 64:ff9b:1::/48: the prefix length is the operator's; /96 is the common choice, /48 puts it at 6.
            if b[4] == 0x00, b[5] == 0x01 { return [v4(12), v4(6)] }
        }
        if b[0] == 0x20, b[1] == 0x02 { return [v4(2)] }
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x00, b[3] == 0x00 { return [v4(4), v4(12, flip: true)] }
        return []
    }

    /// Whether the address reaches this host itself: loopback (127.0.0.0/8, ::1, mapped forms included), the
    /// unspecified addresses, or an address assigned to one of its interfaces (a socket can be bound to it).
    public var isThisHost: Bool {
        let address = unmapped
        switch address {
        case .v4(let v4):
            if v4.value >> 24 == 127 || v4.value >> 24 == 0 { return true }
        case .v6(let v6):
            if v6.bytes[0..<15].allSatisfy({ $0 == 0 }), v6.bytes[15] <= 1 { return true }
        }
        if embeddedIPv4.contains(where: { IPAddress.v4($0).isThisHost }) { return true }
        return address.canBindLocally
    }

    /// Whether a UDP socket can be bound to this address: the kernel's own answer to "is it ours?".
    public var canBindLocally: Bool { bindError == nil }

    /// The errno of binding a UDP socket to this address, or `nil` when it binds (the address is this host's).
    public var bindError: Int32? {
        let fd = socket(family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var (storage, length) = socketAddress()
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        return result == 0 ? nil : errno
    }
}
