import SondeCore

/// ICMP and ICMPv6 message types Sonde sends or understands.
package enum ICMPType {
    package enum V4 {
        package static let echoReply: UInt8 = 0
        package static let destinationUnreachable: UInt8 = 3
        package static let sourceQuench: UInt8 = 4
        package static let redirect: UInt8 = 5
        package static let echoRequest: UInt8 = 8
        package static let timeExceeded: UInt8 = 11
        package static let parameterProblem: UInt8 = 12
        /// The types a raw socket lets through its ICMP_FILTER: replies and errors about our requests.
        package static let received: [UInt8] = [
            echoReply, destinationUnreachable, sourceQuench, redirect, timeExceeded, parameterProblem,
        ]
    }

    package enum V6 {
        package static let destinationUnreachable: UInt8 = 1
        package static let packetTooBig: UInt8 = 2
        package static let timeExceeded: UInt8 = 3
        package static let parameterProblem: UInt8 = 4
        package static let echoRequest: UInt8 = 128
        package static let echoReply: UInt8 = 129
        package static let received: [UInt8] = [
            echoReply, destinationUnreachable, packetTooBig, timeExceeded, parameterProblem,
        ]
    }

    package static func echoRequest(_ family: AddressFamily) -> UInt8 {
        family == .ipv4 ? V4.echoRequest : V6.echoRequest
    }

    package static func echoReply(_ family: AddressFamily) -> UInt8 {
        family == .ipv4 ? V4.echoReply : V6.echoReply
    }
}

/// The RFC 1071 Internet checksum. An odd trailing byte is the high-order byte of a zero-padded word.
package enum InternetChecksum {
    package static func compute(_ bytes: some Collection<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var iterator = bytes.makeIterator()
        while let high = iterator.next() {
            let low = iterator.next() ?? 0
            sum &+= UInt32(high) << 8 | UInt32(low)
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) &+ (sum >> 16)
        }
        return ~UInt16(truncatingIfNeeded: sum)
    }
}

/// An echo request on the wire: type, code, checksum, identifier, sequence, data.
///
/// The data starts with an 8-byte tag (a per-socket token and the 32-bit send counter) when there is room
/// for it, so replies can be told from other processes' and from older sequence-number epochs; the rest is
/// the iputils counting pattern (byte *i* of the data is *i* mod 256).
package struct EchoRequest {
    package static let headerLength = 8
    package static let tagLength = 8

    package var family: AddressFamily
    package var identifier: UInt16
    package var sequence: UInt16
    package var token: UInt32
    package var counter: UInt32
    package var dataLength: Int

    /// The bytes to send. IPv4 carries its checksum; for ICMPv6 the kernel fills it in.
    package func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.headerLength + dataLength)
        bytes[0] = ICMPType.echoRequest(family)
        bytes[4] = UInt8(identifier >> 8)
        bytes[5] = UInt8(identifier & 0xff)
        bytes[6] = UInt8(sequence >> 8)
        bytes[7] = UInt8(sequence & 0xff)
        for index in 0..<dataLength {
            bytes[Self.headerLength + index] = Self.expectedDataByte(at: index, token: token, counter: counter, dataLength: dataLength)
        }
        if family == .ipv4 {
            let checksum = InternetChecksum.compute(bytes)
            bytes[2] = UInt8(checksum >> 8)
            bytes[3] = UInt8(checksum & 0xff)
        }
        return bytes
    }

    /// The byte the data must hold at `index` for the request with this token and counter.
    package static func expectedDataByte(at index: Int, token: UInt32, counter: UInt32, dataLength: Int) -> UInt8 {
        if dataLength >= tagLength, index < tagLength {
            let word = index < 4 ? token : counter
            return UInt8(truncatingIfNeeded: word >> (8 * (3 - UInt32(index % 4))))
        }
        return UInt8(truncatingIfNeeded: index)
    }
}

/// What one received datagram turned out to be.
package enum ICMPMessage: Equatable {
    /// An echo reply. `data` is what followed the 8-byte header.
    case echoReply(identifier: UInt16, sequence: UInt16, data: [UInt8], checksumValid: Bool, ttl: Int?, icmpLength: Int)
    /// An error about one of our echo requests, with the request's fields from the quoted packet.
    case error(ICMPErrorReport)
    /// Something else (another process's traffic, a type we do not track).
    case unrelated
}

/// An ICMP error quoting an echo request: who reported it, what it said, and which request it was about.
package struct ICMPErrorReport: Equatable {
    package var family: AddressFamily
    package var type: UInt8
    package var code: UInt8
    /// Next-hop MTU for "fragmentation needed" / "packet too big", else 0.
    package var mtu: UInt32
    package var originalDestination: IPAddress?
    package var identifier: UInt16
    package var sequence: UInt16
}

/// Parses datagrams read from ICMP sockets.
package enum ICMPParser {
    /// Parses one datagram.
    ///
    /// - Parameters:
    ///   - bytes: what `recvmsg` returned.
    ///   - family: the socket's family.
    ///   - includesIPHeader: raw IPv4 sockets deliver the IPv4 header first; others do not.
    ///   - controlTTL: TTL or hop limit from a control message, if any.
    package static func parse(_ bytes: [UInt8], family: AddressFamily, includesIPHeader: Bool, controlTTL: Int?) -> ICMPMessage {
        var offset = 0
        var ttl = controlTTL
        if includesIPHeader {
            guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return .unrelated }
            let headerLength = Int(bytes[0] & 0x0f) * 4
            guard headerLength >= 20, bytes.count >= headerLength + EchoRequest.headerLength, bytes[9] == 1 else {
                return .unrelated
            }
            ttl = Int(bytes[8])
            offset = headerLength
        }
        guard bytes.count >= offset + EchoRequest.headerLength else { return .unrelated }
        let icmp = bytes[offset...]
        let type = icmp[offset]
        let code = icmp[offset + 1]
        if type == ICMPType.echoReply(family) {
            guard code == 0 else { return .unrelated }
            let valid = family == .ipv6 || !includesIPHeader || InternetChecksum.compute(icmp) == 0
            return .echoReply(
                identifier: word(icmp, offset + 4),
                sequence: word(icmp, offset + 6),
                data: Array(icmp[(offset + 8)...]),
                checksumValid: valid,
                ttl: ttl,
                icmpLength: icmp.count
            )
        }
        guard isError(type, family: family) else { return .unrelated }
        let mtu: UInt32
        switch (family, type) {
        case (.ipv4, ICMPType.V4.destinationUnreachable) where code == 4:
            mtu = UInt32(word(icmp, offset + 6))
        case (.ipv6, ICMPType.V6.packetTooBig):
            mtu = UInt32(word(icmp, offset + 4)) << 16 | UInt32(word(icmp, offset + 6))
        default:
            mtu = 0
        }
        guard let quoted = quotedEcho(Array(icmp[(offset + 8)...]), family: family) else { return .unrelated }
        return .error(
            ICMPErrorReport(
                family: family, type: type, code: code, mtu: mtu,
                originalDestination: quoted.destination, identifier: quoted.identifier, sequence: quoted.sequence
            )
        )
    }

    package static func isError(_ type: UInt8, family: AddressFamily) -> Bool {
        switch family {
        case .ipv4:
            [
                ICMPType.V4.destinationUnreachable, ICMPType.V4.sourceQuench, ICMPType.V4.redirect,
                ICMPType.V4.timeExceeded, ICMPType.V4.parameterProblem,
            ].contains(type)
        case .ipv6:
            (1...4).contains(type)
        }
    }

    /// The echo request quoted inside an ICMP error: inner IP header (IPv4 options allowed), then at least the
    /// first 8 bytes of our ICMP header.
    package static func quotedEcho(_ quote: [UInt8], family: AddressFamily) -> (destination: IPAddress, identifier: UInt16, sequence: UInt16)? {
        switch family {
        case .ipv4:
            guard quote.count >= 20, quote[0] >> 4 == 4 else { return nil }
            let headerLength = Int(quote[0] & 0x0f) * 4
            guard headerLength >= 20, quote[9] == 1, quote.count >= headerLength + 8,
                quote[headerLength] == ICMPType.V4.echoRequest
            else { return nil }
            let destination = IPv4Address(quote[16], quote[17], quote[18], quote[19])
            return (.v4(destination), word(quote, headerLength + 4), word(quote, headerLength + 6))
        case .ipv6:
            guard quote.count >= 48, quote[0] >> 4 == 6, quote[6] == 58, quote[40] == ICMPType.V6.echoRequest else {
                return nil
            }
            let destination = IPv6Address(bytes: Array(quote[24..<40]))
            return (.v6(destination), word(quote, 44), word(quote, 46))
        }
    }

    /// The big-endian 16-bit word at `index` (an index of `bytes` itself, which may be a slice).
    package static func word<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ index: Int) -> UInt16
    where Bytes.Index == Int {
        UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }
}
