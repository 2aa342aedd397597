import SondeTestSupport
import Testing

@testable import DNSProbe

@Suite("DNS wire format")
struct DNSMessageTests {
    @Test func aQueryWithEDNSIsEncodedByteForByte() throws {
        var flags = DNSFlags()
        flags.recursionDesired = true
        let query = DNSMessage(
            id: 0xbeef, flags: flags, questions: [DNSQuestion(name: "example.com", type: .aaaa)],
            edns: EDNS(udpPayloadSize: 1232)
        )
        let expected: [UInt8] = [
            0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
            7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x63, 0x6f, 0x6d, 0, 0, 28, 0, 1,
            0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
        ]
        #expect(try query.encoded() == expected)
        #expect(try DNSMessage(decoding: expected) == query.withFullyQualifiedNames())
    }

    @Test func namesAreCheckedAgainstRFC1035() throws {
        #expect(throws: DNSNameError.labelTooLong(label: String(repeating: "a", count: 64), name: String(repeating: "a", count: 64) + ".com")) {
            try DNSMessage.labels(of: String(repeating: "a", count: 64) + ".com")
        }
        let long = Array(repeating: String(repeating: "b", count: 60), count: 5).joined(separator: ".")
        #expect(throws: DNSNameError.nameTooLong(name: long)) { try DNSMessage.labels(of: long) }
        #expect(throws: DNSNameError.emptyLabel(name: "a..b")) { try DNSMessage.labels(of: "a..b") }
        #expect(throws: DNSNameError.emptyLabel(name: ".a")) { try DNSMessage.labels(of: ".a") }
        #expect(throws: DNSNameError.empty) { try DNSMessage.labels(of: "") }
        #expect(try DNSMessage.labels(of: ".") == [])
        #expect(try DNSMessage.labels(of: String(repeating: "c", count: 63) + ".").count == 1)
    }

    static let everyType: [DNSRecord] = [
        DNSRecord(name: "www.test.", type: .a, recordClass: 1, ttl: 300, data: .a([10, 0, 0, 7])),
        DNSRecord(name: "www.test.", type: .aaaa, recordClass: 1, ttl: 300, data: .aaaa([0xfd, 0] + Array(repeating: 0, count: 13) + [7])),
        DNSRecord(name: "alias.test.", type: .cname, recordClass: 1, ttl: 60, data: .name("www.test.")),
        DNSRecord(name: "test.", type: .mx, recordClass: 1, ttl: 60, data: .mx(preference: 10, exchange: "mail.test.")),
        DNSRecord(name: "test.", type: .txt, recordClass: 1, ttl: 60, data: .txt([Array("v=spf1 -all".utf8), [], Array("two".utf8)])),
        DNSRecord(name: "_ldap._tcp.test.", type: .srv, recordClass: 1, ttl: 60, data: .srv(priority: 1, weight: 5, port: 389, target: "dc.test.")),
        DNSRecord(name: "test.", type: .ns, recordClass: 1, ttl: 60, data: .name("ns1.test.")),
        DNSRecord(name: "7.0.0.10.in-addr.arpa.", type: .ptr, recordClass: 1, ttl: 60, data: .name("www.test.")),
        DNSRecord(
            name: "test.", type: .soa, recordClass: 1, ttl: 60,
            data: .soa(mname: "ns1.test.", rname: "hostmaster.test.", serial: 2_026_112_401, refresh: 3600, retry: 600, expire: 86400, minimum: 60)),
        DNSRecord(name: "test.", type: .caa, recordClass: 1, ttl: 60, data: .caa(flags: 0, tag: "issue", value: Array("letsencrypt.org".utf8))),
        DNSRecord(name: "test.", type: DNSType(rawValue: 65280), recordClass: 1, ttl: 60, data: .unknown([1, 2, 3])),
    ]

    @Test func everyRecordTypeRoundTrips() throws {
        var flags = DNSFlags()
        flags.response = true
        flags.authoritative = true
        flags.recursionAvailable = true
        flags.rcode = 0
        var edns = EDNS(udpPayloadSize: 4096, dnssecOK: true)
        edns.options = [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]
        let message = DNSMessage(
            id: 7, flags: flags, questions: [DNSQuestion(name: "test.", type: .any)],
            answers: Self.everyType, authorities: [Self.everyType[6]], additionals: [Self.everyType[0]], edns: edns
        )
        let decoded = try DNSMessage(decoding: try message.encoded())
        #expect(decoded == message)
        #expect(decoded.flags.names == ["qr", "aa", "rd", "ra"])
    }

    @Test func followsCompressionPointers() throws {
        // Answer for www.test. A, its name a pointer to the question (offset 12); the CNAME target
        // "x" + pointer to "test." inside the question.
        let bytes: [UInt8] = [
            0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
            3, 0x77, 0x77, 0x77, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1,
            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7,
            0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x78, 0xc0, 16,
        ]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers.map(\.name) == ["www.test.", "www.test."])
        #expect(message.answers[0].data == .a([10, 0, 0, 7]))
        #expect(message.answers[1].data == .name("x.test."))
        #expect(message.rcode == .noError)
    }

    @Test(arguments: [
        ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1] as [UInt8], "compression pointer does not point backwards"),
        ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 1, 0, 1] as [UInt8], "compression pointer does not point backwards"),
        ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61] as [UInt8], "label runs past the end"),
        ([0, 1, 0x81, 0x80, 0, 1] as [UInt8], "message ends early"),
        ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1] as [UInt8], "unsupported label type 0x40"),
        (
            [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5] as [UInt8],
            "A record data must be 4 bytes, not 5"
        ),
        ([0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 5, 0x61, 0x62] as [UInt8], "TXT string runs past its record"),
    ])
    func malformedMessagesAreRefusedWithTheReason(bytes: [UInt8], reason: String) {
        let error = #expect(throws: DNSParseError.self) { try DNSMessage(decoding: bytes) }
        #expect(error?.reason == reason)
    }

    @Test func namesPrintLikeDig() {
        #expect(DNSReader.presentation(Array("a.b".utf8)[...]) == "a\\.b")
        #expect(DNSReader.presentation([0x20, 0x41, 0x7f][...]) == "\\032A\\127")
    }

    /// Every input decodes or is refused, and what decodes encodes again to the same message (SONDE_TEST_SEED
    /// replays a run: the seed is printed first).
    @Test func randomBytesNeverTrap() throws {
        let seed = try? DNSMessage(
            id: 1, flags: DNSFlags(), questions: [DNSQuestion(name: "test.", type: .any)], answers: Self.everyType
        ).encoded()
        var generator = SeededRandom(test: "randomBytesNeverTrap")
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0, var mutated = seed {
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                bytes = Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &generator)))
            } else {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            guard let message = try? DNSMessage(decoding: bytes) else { continue }
            let encoded = try message.encoded()
            #expect(try DNSMessage(decoding: encoded) == message, "round \(round), \(generator.replay): \(bytes)")
        }
    }

    @Test("names with dig's escapes go on the wire as the bytes they stand for")
    func escapedNames() throws {
        #expect(try DNSMessage.labels(of: #"a\.b.c"#) == [Array("a.b".utf8), Array("c".utf8)])
        #expect(try DNSMessage.labels(of: #"\000\255\\.x."#) == [[0, 255, UInt8(ascii: "\\")], Array("x".utf8)])
        for bad in [#"a\"#, #"\25"#, #"\256"#, #"\2x5"#] {
            #expect(throws: DNSNameError.badEscape(name: bad), "\(bad)") { try DNSMessage.labels(of: bad) }
        }
        #expect(throws: DNSNameError.emptyLabel(name: "a..b")) { try DNSMessage.labels(of: "a..b") }
        #expect(throws: DNSNameError.self, "an escape counts as one byte: 63 + 1 is too long") {
            try DNSMessage.labels(of: String(repeating: "a", count: 63) + #"\."#)
        }
    }

    @Test func typeAndRcodeNames() {
        #expect(DNSType(name: "aaaa") == .aaaa)
        #expect(DNSType(name: "TYPE65280")?.rawValue == 65280)
        #expect(DNSType(name: "BOGUS") == nil)
        #expect(DNSType(rawValue: 65280).description == "TYPE65280")
        #expect(DNSResponseCode(rawValue: 3).description == "NXDOMAIN")
        #expect(DNSResponseCode(name: "servfail") == .servFail)
    }
}

extension DNSMessage {
    /// The same message with names as the decoder prints them (trailing dot).
    func withFullyQualifiedNames() -> DNSMessage {
        var copy = self
        copy.questions = questions.map {
            DNSQuestion(name: $0.name.hasSuffix(".") ? $0.name : $0.name + ".", type: $0.type, recordClass: $0.recordClass)
        }
        return copy
    }
}
