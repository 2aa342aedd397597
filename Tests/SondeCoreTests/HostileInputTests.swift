import SondeCore
import SondeRegex
import Testing

/// The pieces of the threat model that are plain functions: checked conversions, the safe regex engine,
/// embedded IPv4 in IPv6, the content policy.
@Suite("hostile input: checked numbers, safe regexes, embedded addresses")
struct HostileInputTests {
    @Test("seconds from outside become a Duration only within range, and clamping never traps")
    func checkedSeconds() {
        #expect(Duration.checkedSeconds(1.5) == .milliseconds(1500))
        #expect(Duration.checkedSeconds(0.001, within: 0.001...60) == .milliseconds(1))
        for bad in [Double.nan, .infinity, -.infinity, 1e300, 9.3e18, -1, Duration.maxCheckedSeconds + 1] {
            #expect(Duration.checkedSeconds(bad) == nil, "\(bad)")
        }
        #expect(Duration.checkedSeconds(61, within: 0...60) == nil)
        #expect(Duration.clampedSeconds(1e300, within: 0.1...60) == .seconds(60))
        #expect(Duration.clampedSeconds(-1e300, within: 0.1...60) == .milliseconds(100))
        #expect(Duration.clampedSeconds(.nan, within: 0.1...60) == .milliseconds(100))
        #expect(Duration.clampedSeconds(.infinity, within: 0...1e300) == .seconds(Int64(Duration.maxCheckedSeconds)))
        // A declared range far beyond the cap still yields a bounded duration.
        let values = ParameterValues(["wait": .number(1e300)])
        #expect(values.duration("wait") == .seconds(Int64(Duration.maxCheckedSeconds)))
    }

    @Test("RE2: matches, captures, case folding, and the constructs that need backtracking refused with a reason")
    func safeRegex() throws {
        let pong = try SafeRegex(#"^\+PONG"#)
        #expect(pong.matches(Array("+PONG\r\n".utf8)))
        #expect(!pong.matches(Array("-ERR\r\n".utf8)))
        let version = try SafeRegex(#"SSH-(\d+)\.(\d+)-(\S+)?"#)
        let match = try #require(version.firstMatch(in: Array("SSH-2.0-OpenSSH_9.2p1 Debian".utf8)))
        #expect(match.text == "SSH-2.0-OpenSSH_9.2p1")
        #expect(match.captures.map { $0.map { String(decoding: $0, as: UTF8.self) } } == ["SSH-2.0-OpenSSH_9.2p1", "2", "0", "OpenSSH_9.2p1"])
        #expect(try SafeRegex("(x)?y").firstMatch(in: Array("y".utf8))?.captures.last == .some(nil), "a group that took no part")
        #expect(try SafeRegex("^$").matches([UInt8]()), "empty input")
        #expect(try SafeRegex("pong", caseInsensitive: true).matches(Array("PONG".utf8)))
        // Invalid UTF-8 and NUL bytes in the input are just bytes.
        #expect(try SafeRegex("a.b").matches([0x61, 0x00, 0x62]))
        #expect(try SafeRegex("ok").matches([0xff, 0xfe, 0x6f, 0x6b]))
        for (pattern, reason) in [
            (#"(a)\1"#, "invalid escape sequence"), ("(?=a)", "invalid perl operator"), ("(", "missing )"), ("a{1001}", "invalid repetition size"),
        ] {
            #expect(throws: SafeRegexError.self, "\(pattern)") { try SafeRegex(pattern) }
            do {
                _ = try SafeRegex(pattern)
            } catch {
                #expect(error.reason.contains(reason), "\(pattern): \(error.reason)")
            }
        }
        // A program over the memory cap is refused rather than built.
        #expect(throws: SafeRegexError.self) { try SafeRegex(String(repeating: "(a{100}){100}", count: 10)) }
    }

    @Test("patterns that explode a backtracking engine answer at once on hostile input")
    func linearTime() throws {
        // With Swift's Regex (backtracking) the first of these on 30 'a's takes 2^30 steps; RE2 takes ~30 × pattern.
        let input = Array(repeating: UInt8(ascii: "a"), count: 65_536) + [UInt8(ascii: "!")]
        for pattern in [#"(a+)+$"#, #"(a|aa)+$"#, #"(a*)*b"#, #"(.*a){20}$"#] {
            #expect(!(try SafeRegex(pattern)).matches(input), "\(pattern)")
        }
    }

    @Test("a regular-expression parameter is validated by RE2, naming its reason")
    func regexParameter() {
        let spec = ParameterSpec("expect", .text(maxLength: 64, format: .regularExpression), summary: "expect")
        #expect(throws: Never.self) { try spec.parse(#"^\+OK"#) }
        do {
            _ = try spec.parse(#"(a)\1"#)
            Issue.record("a backreference was accepted")
        } catch {
            #expect(error.allowed == #"an RE2 regular expression of at most 64 characters (invalid escape sequence: \1)"#)
        }
    }

    @Test("IPv6 forms that embed IPv4, by each standard scheme")
    func embedded() {
        let cases: [(String, [String])] = [
            ("::a9fe:a9fe", ["169.254.169.254"]),
            ("::ffff:0:a9fe:a9fe", ["169.254.169.254"]),
            ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
            ("64:ff9b:1:a9fe:a9fe::", ["0.0.0.0", "169.254.169.254"]),
            ("2002:a9fe:a9fe::1", ["169.254.169.254"]),
            ("2001:0:4136:e378:8000:63bf:5601:5601", ["65.54.227.120", "169.254.169.254"]),
            ("::1", []), ("::", []), ("fd00::1", []), ("10.0.0.1", []), ("2001:db8::1", []),
        ]
        for (text, expected) in cases {
            #expect(IPAddress(text)?.embeddedIPv4.map(\.description) == expected, "\(text)")
        }
    }

    @Test("the policy judges embedded IPv4 by the IPv4 rules, and normalises mapped CIDRs")
    func policy() throws {
        let policy = AddressPolicy(deny: AddressPolicy.defaultDeny + [.init(try #require(IPNetwork("::ffff:10.0.0.0/104")))])
        #expect(policy.refusal(of: IPAddress("10.1.2.3")!)?.network.description == "10.0.0.0/8", "the mapped CIDR became 10.0.0.0/8")
        #expect(policy.refusal(of: IPAddress("64:ff9b::a01:203")!) != nil)
        #expect(policy.refusal(of: IPAddress("2002:a9fe:a9fe::")!) != nil)
        #expect(policy.refusal(of: IPAddress("fd00::10.1.2.3")!) == nil, "not an embedding scheme")
        // With an allow list, every address the packet may reach must be allowed.
        let allowing = AddressPolicy(allow: [.init(try #require(IPNetwork("64:ff9b::/96")))], deny: [])
        #expect(allowing.refusal(of: IPAddress("64:ff9b::a01:203")!)?.reason == "not in the allow list")
    }

    @Test("content towards this host's own addresses is refused unless allowed; other content and plain probes pass")
    func localContent() throws {
        for own in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "64:ff9b::7f00:1"] {
            #expect(IPAddress(own)!.isThisHost, "\(own)")
        }
        // TEST-NET-1 is never assigned here.
        #expect(!IPAddress("192.0.2.1")!.isThisHost)
        let policy = AddressPolicy()
        #expect(throws: ProbeError.self) { try policy.authorizeContent(["send"], to: IPAddress("127.0.0.1")!, target: "localhost") }
        #expect(throws: Never.self) { try policy.authorizeContent([], to: IPAddress("127.0.0.1")!, target: "localhost") }
        #expect(throws: Never.self) { try policy.authorizeContent(["send"], to: IPAddress("192.0.2.1")!, target: "192.0.2.1") }
        let open = AddressPolicy(allowLocalContent: true)
        #expect(throws: Never.self) { try open.authorizeContent(["send"], to: IPAddress("127.0.0.1")!, target: "localhost") }
        let context = ProbeContext(policy: policy, contentParameters: ["banner"])
        do {
            try context.authorize(IPAddress("127.0.0.1")!, target: "localhost")
            Issue.record("a banner read from loopback was allowed")
        } catch {
            #expect(error.code == .targetDenied)
            #expect(error.message.contains("banner towards 'localhost' (resolved to 127.0.0.1) is refused"), "\(error.message)")
        }
        #expect(ProbeContext(maxSends: 5).sends(upTo: nil) == 5)
        #expect(ProbeContext(maxSends: 5).sends(upTo: 3) == 3)
        #expect(ProbeContext().sends(upTo: nil) == nil)
    }
}
