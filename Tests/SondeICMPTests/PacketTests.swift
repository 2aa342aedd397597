import SondeCore
import SondeTestSupport
import Testing

@testable import SondeICMP

@Suite("ICMP packets")
struct PacketTests {
    /// RFC 1071 the slow way: sum of 16-bit words, odd byte padded with a zero low byte.
    static func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
        var padded = bytes
        if padded.count % 2 == 1 { padded.append(0) }
        var sum = 0
        for index in stride(from: 0, to: padded.count, by: 2) {
            sum += Int(padded[index]) << 8 + Int(padded[index + 1])
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    @Test func checksumOfTheRFC1071Example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
        #expect(InternetChecksum.compute([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == 0x220d)
    }

    @Test(arguments: [0, 1, 7, 57, 1000, 1473])
    func checksumHandlesOddLengthsWithHighBytes(length: Int) {
        // High bytes (≥ 0x80) at odd positions are where sign-extension bugs (fping -b 57) show up.
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0x80 + $0 * 37) }
        #expect(InternetChecksum.compute(bytes) == Self.referenceChecksum(bytes))
    }

    @Test(arguments: [0, 1, 7, 8, 15, 16, 56, 57, 1472, 65507])
    func ipv4RequestsCarryAValidChecksumAndTheirFields(dataLength: Int) {
        let request = EchoRequest(family: .ipv4, identifier: 0xbeef, sequence: 0x1234, token: 0xa1b2_c3d4, counter: 77, dataLength: dataLength)
        let bytes = request.encoded()
        #expect(bytes.count == 8 + dataLength)
        #expect(bytes[0] == 8 && bytes[1] == 0)
        #expect(ICMPParser.word(bytes, 4) == 0xbeef)
        #expect(ICMPParser.word(bytes, 6) == 0x1234)
        #expect(InternetChecksum.compute(bytes) == 0, "a valid message sums to zero")
        if dataLength >= 8 {
            #expect(Array(bytes[8..<16]) == [0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 0, 77])
        }
        if dataLength > 20 { #expect(bytes[8 + 20] == 20, "counting pattern after the tag") }
    }

    @Test func ipv6RequestsLeaveTheChecksumToTheKernel() {
        let bytes = EchoRequest(family: .ipv6, identifier: 1, sequence: 2, token: 3, counter: 4, dataLength: 56).encoded()
        #expect(bytes[0] == 128)
        #expect(bytes[2] == 0 && bytes[3] == 0)
    }

    /// An IPv4 header (with `options` bytes of options) in front of `payload`.
    static func ipv4Header(source: [UInt8], destination: [UInt8], ttl: UInt8, payloadLength: Int, options: Int = 0) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 20 + options)
        header[0] = 0x40 | UInt8((20 + options) / 4)
        let total = 20 + options + payloadLength
        header[2] = UInt8(total >> 8)
        header[3] = UInt8(total & 0xff)
        header[8] = ttl
        header[9] = 1
        header.replaceSubrange(12..<16, with: source)
        header.replaceSubrange(16..<20, with: destination)
        return header
    }

    static func reply(from request: [UInt8]) -> [UInt8] {
        var reply = request
        reply[0] = 0
        reply[2] = 0
        reply[3] = 0
        let checksum = InternetChecksum.compute(reply)
        reply[2] = UInt8(checksum >> 8)
        reply[3] = UInt8(checksum & 0xff)
        return reply
    }

    @Test func parsesARawIPv4ReplyWithOptionsInTheHeader() {
        let request = EchoRequest(family: .ipv4, identifier: 7, sequence: 9, token: 1, counter: 2, dataLength: 56).encoded()
        let icmp = Self.reply(from: request)
        let packet = Self.ipv4Header(source: [10, 0, 0, 2], destination: [10, 0, 0, 1], ttl: 61, payloadLength: icmp.count, options: 8) + icmp
        guard
            case .echoReply(let identifier, let sequence, let data, let valid, let ttl, let length) =
                ICMPParser.parse(packet, family: .ipv4, includesIPHeader: true, controlTTL: nil)
        else {
            Issue.record("not parsed as a reply")
            return
        }
        #expect(identifier == 7 && sequence == 9 && valid && ttl == 61 && length == 64 && data.count == 56)
    }

    @Test func flagsABadIPv4Checksum() {
        var icmp = Self.reply(from: EchoRequest(family: .ipv4, identifier: 7, sequence: 9, token: 1, counter: 2, dataLength: 56).encoded())
        icmp[3] ^= 0xff
        let packet = Self.ipv4Header(source: [10, 0, 0, 2], destination: [10, 0, 0, 1], ttl: 64, payloadLength: icmp.count) + icmp
        guard case .echoReply(_, _, _, let valid, _, _) = ICMPParser.parse(packet, family: .ipv4, includesIPHeader: true, controlTTL: nil) else {
            Issue.record("not parsed as a reply")
            return
        }
        #expect(!valid)
    }

    @Test func parsesTheEchoQuotedInAnIPv4TimeExceeded() {
        let request = EchoRequest(family: .ipv4, identifier: 0x4242, sequence: 513, token: 1, counter: 2, dataLength: 56).encoded()
        let quoted =
            Self.ipv4Header(source: [10, 0, 0, 1], destination: [10, 9, 9, 9], ttl: 1, payloadLength: request.count, options: 4) + request.prefix(8)
        let error = [11, 0, 0, 0, 0, 0, 0, 0] + quoted
        let outer = Self.ipv4Header(source: [10, 0, 0, 254], destination: [10, 0, 0, 1], ttl: 64, payloadLength: error.count) + error
        let parsed = ICMPParser.parse(outer, family: .ipv4, includesIPHeader: true, controlTTL: nil)
        #expect(
            parsed
                == .error(
                    ICMPErrorReport(
                        family: .ipv4, type: 11, code: 0, mtu: 0, originalDestination: IPAddress("10.9.9.9"), identifier: 0x4242, sequence: 513
                    )))
    }

    @Test func readsTheMTUOfFragmentationNeeded() {
        let request = EchoRequest(family: .ipv4, identifier: 1, sequence: 2, token: 1, counter: 2, dataLength: 1472).encoded()
        let quoted = Self.ipv4Header(source: [10, 0, 0, 1], destination: [10, 9, 9, 9], ttl: 63, payloadLength: request.count) + request.prefix(8)
        let error = [3, 4, 0, 0, 0, 0, 0x05, 0x78] + quoted
        guard case .error(let report) = ICMPParser.parse(error, family: .ipv4, includesIPHeader: false, controlTTL: nil) else {
            Issue.record("not parsed as an error")
            return
        }
        #expect(report.mtu == 1400)
    }

    @Test func parsesTheEchoQuotedInAnICMPv6PacketTooBig() {
        let request = EchoRequest(family: .ipv6, identifier: 0x0102, sequence: 0xfffe, token: 1, counter: 2, dataLength: 1452).encoded()
        var inner = [UInt8](repeating: 0, count: 40)
        inner[0] = 0x60
        inner[6] = 58
        inner[7] = 64
        inner.replaceSubrange(24..<40, with: IPv6Address("fd00:77:5::1")!.bytes)
        let message = [2, 0, 0, 0, 0, 0, 0x05, 0x78] + inner + request.prefix(48)
        let parsed = ICMPParser.parse(message, family: .ipv6, includesIPHeader: false, controlTTL: 64)
        #expect(
            parsed
                == .error(
                    ICMPErrorReport(
                        family: .ipv6, type: 2, code: 0, mtu: 1400, originalDestination: IPAddress("fd00:77:5::1"), identifier: 0x0102,
                        sequence: 0xfffe
                    )))
    }

    @Test func ignoresWhatIsNotOurs() {
        #expect(ICMPParser.parse([], family: .ipv4, includesIPHeader: true, controlTTL: nil) == .unrelated)
        #expect(ICMPParser.parse([8, 0, 0, 0, 0, 1, 0, 1], family: .ipv4, includesIPHeader: false, controlTTL: nil) == .unrelated)
        #expect(ICMPParser.parse([135, 0, 0, 0, 0, 0, 0, 0], family: .ipv6, includesIPHeader: false, controlTTL: nil) == .unrelated)
        // An error quoting a UDP datagram, not an echo request.
        var quoted = Self.ipv4Header(source: [10, 0, 0, 1], destination: [10, 9, 9, 9], ttl: 1, payloadLength: 8)
        quoted[9] = 17
        #expect(
            ICMPParser.parse(
                [11, 0, 0, 0, 0, 0, 0, 0] + quoted + [0, 53, 0, 53, 0, 8, 0, 0], family: .ipv4, includesIPHeader: false, controlTTL: nil)
                == .unrelated)
    }

    /// Random packets, reproducible: the seed is printed (SONDE_TEST_SEED replays it).
    @Test func parserNeverTrapsOnArbitraryBytes() {
        var generator = SeededRandom(test: "parserNeverTrapsOnArbitraryBytes")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...120, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if length > 0, Bool.random(using: &generator) { bytes[0] = 0x45 }
            if length > 20, Bool.random(using: &generator) { bytes[20] = [0, 3, 11, 129, 1, 2].randomElement(using: &generator)! }
            for family in AddressFamily.allCases {
                _ = ICMPParser.parse(bytes, family: family, includesIPHeader: family == .ipv4 && length % 2 == 0, controlTTL: nil)
            }
        }
    }
}
