import Foundation
import Testing

/// The command line as a user meets it: help, listing, and one clear line for every kind of bad input.
/// No privileges needed: nothing here sends a packet.
@Suite("sonde command line", .timeLimit(.minutes(3)))
struct CommandLineTests {
    func sonde(_ arguments: String...) async throws -> Shell.Result {
        try await Shell.captureAsync([Sonde.binary] + arguments, timeout: 30)
    }

    @Test(arguments: [
        (["-c", "0", "127.0.0.1"], "sonde: invalid value '0' for -c/--count: expected an integer from 1 to 1000000"),
        (["-c3x", "127.0.0.1"], "sonde: invalid value '3x' for -c/--count: expected an integer from 1 to 1000000"),
        (["-i", "0.001", "127.0.0.1"], "sonde: invalid value '0.001' for -i/--interval: expected a number of seconds from 0.002 to 3600"),
        (["-s", "65508", "127.0.0.1"], "sonde: invalid value '65508' for -s/--size: expected an integer from 0 to 65507 for an IPv4 target"),
        (["-s", "70000", "::1"], "sonde: invalid value '70000' for -s/--size: expected an integer from 0 to 65527"),
        (["-t", "256", "127.0.0.1"], "sonde: invalid value '256' for -t/--ttl: expected an integer from 1 to 255"),
        (["-M", "maybe", "127.0.0.1"], "sonde: invalid value 'maybe' for -M/--pmtu-discovery: expected one of do, want, dont, probe"),
        (["--count=2", "--bogus", "127.0.0.1"], "sonde: unknown option '--bogus' for sonde ping (see sonde ping --help)"),
        (["-W"], "sonde: option -W needs a value: a number of seconds from 0.001 to 3600"),
        // Refused before any lookup: no test asks the host's resolver.
        (["10.0.0.256"], "sonde: invalid target '10.0.0.256': not a valid IPv4 address, and a host name cannot end in a number"),
        (["fe80::1%no-such-if0"], "sonde: invalid target 'fe80::1%no-such-if0': not a valid IP address (IPv6 zones must name an existing interface)"),
        (["-6", "127.0.0.1"], "sonde: '127.0.0.1' is an IPv4 address, but ipv6 was requested"),
        (
            ["-I", "no-such-if0", "127.0.0.1"],
            "sonde: invalid value 'no-such-if0' for -I/--interface: expected an existing interface name or a local address"
        ),
        ([], "sonde: missing target for ping: expected host name or IPv4/IPv6 address (IPv6 may carry a zone: fe80::1%eth0) (see sonde ping --help)"),
    ])
    func badInputGetsOneLineAndExitTwo(arguments: [String], message: String) async throws {
        let result = try await Shell.captureAsync([Sonde.binary, "ping"] + arguments, timeout: 30)
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        #expect(result.error == message + "\n")
    }

    @Test(arguments: [
        (["db"], "sonde: invalid target 'db': expected HOST:PORT or [IPv6]:PORT"),
        (["db:70000"], "sonde: invalid port '70000' in 'db:70000': expected 1 to 65535"),
        (["fd00::1:443"], "sonde: invalid target 'fd00::1:443': write an IPv6 address in brackets, e.g. [fd00::1]:443"),
        (
            ["--expect", "(", "db:80"],
            "sonde: invalid value '(' for --expect: expected an RE2 regular expression of at most 1024 characters (missing ): ()"
        ),
        // Backreferences need backtracking: RE2 refuses them, so no pattern can take exponential time.
        (
            ["--expect", #"(a)\1"#, "db:80"],
            #"sonde: invalid value '(a)\1' for --expect: expected an RE2 regular expression of at most 1024 characters (invalid escape sequence: \1)"#
        ),
        (["-s", "db", "db:80"], "sonde: invalid value 'db' for -s/--source: expected an IPv4 or IPv6 address"),
        (["-c", "0", "db:80"], "sonde: invalid value '0' for -c/--count: expected an integer from 1 to 100000"),
        (["-6", "127.0.0.1:80"], "sonde: '127.0.0.1' is an IPv4 address, but ipv6 was requested"),
    ])
    func badTCPInputGetsOneLineAndExitTwo(arguments: [String], message: String) async throws {
        let result = try await Shell.captureAsync([Sonde.binary, "tcp"] + arguments, timeout: 30)
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        #expect(result.error == message + "\n")
    }

    @Test(arguments: [
        (["a..b"], "sonde: invalid name 'a..b': empty label (two dots in a row, or a leading dot)"),
        (
            [String(repeating: "x", count: 64) + ".test"],
            "sonde: invalid name '\(String(repeating: "x", count: 64)).test': label '\(String(repeating: "x", count: 64))' is 64 bytes, at most 63 are allowed"
        ),
        (
            [Array(repeating: String(repeating: "y", count: 50), count: 6).joined(separator: ".")],
            "sonde: invalid name '\(Array(repeating: String(repeating: "y", count: 50), count: 6).joined(separator: "."))': 305 characters, at most 253 are allowed"
        ),
        (
            ["-t", "BOGUS", "x.test"],
            "sonde: invalid value 'BOGUS' for -t/--type: expected one of A, AAAA, CNAME, MX, TXT, SRV, NS, PTR, SOA, CAA, ANY"
        ),
        (["--server", "dns.example", "x.test"], "sonde: invalid value 'dns.example' for --server: expected an IP address, IP:PORT or [IPv6]:PORT"),
        (
            ["--server", "10.0.0.1:99999", "x.test"],
            "sonde: invalid value '10.0.0.1:99999' for --server: expected an IP address, IP:PORT or [IPv6]:PORT"
        ),
        (["-x", "not-an-ip"], "sonde: invalid target 'not-an-ip' for -x: expected an IPv4 or IPv6 address"),
    ])
    func badDNSInputGetsOneLineAndExitTwo(arguments: [String], message: String) async throws {
        let result = try await Shell.captureAsync([Sonde.binary, "dns"] + arguments, timeout: 30)
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        #expect(result.error == message + "\n")
    }

    @Test func anUnknownCommandNamesTheProbes() async throws {
        let result = try await sonde("pnig", "10.0.0.1")
        #expect(result.status == 2)
        #expect(
            result.error
                == "sonde: unknown command 'pnig': expected a probe (dns, grpc, http, mtr, ping, tcp, tracepath, traceroute, udp), serve, gateway or probes (see sonde --help)\n"
        )
    }

    @Test func helpComesFromTheParameterDeclarations() async throws {
        let help = try await sonde("ping", "--help")
        #expect(help.status == 0)
        #expect(help.output.contains("USAGE: sonde ping [options] <target> ..."))
        #expect(help.output.contains("-c, --count <n>"))
        #expect(help.output.contains("[0.002–3600 s] (default: 1)"))
        #expect(help.output.contains("-4                              Same as --family ipv4"))
        let top = try await sonde("--help")
        let lines = top.output.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(lines.contains { $0.first == "ping" && $0.last?.hasPrefix("ICMP echo") == true }, "\(top.output)")
        #expect(lines.contains { $0.first == "tcp" && $0.last?.hasPrefix("TCP connect") == true }, "\(top.output)")
        #expect(lines.contains { $0.first == "traceroute" && $0.last?.hasPrefix("Traceroute") == true }, "\(top.output)")
    }

    @Test func topLevelHelpVersionAndHelpTopicsComeFromOneTable() async throws {
        let top = try await sonde("--help")
        #expect(top.status == 0)
        for line in ["  serve        Serve the probe API over HTTP", "  probes       List the probes", "  --plugin-user <name|uid[:gid]>"] {
            #expect(top.output.contains(line), "\(line): \(top.output)")
        }
        let lines = top.output.split(separator: "\n", omittingEmptySubsequences: true)
        // Every line at column 0 is a heading (OVERVIEW:, PROBES (…, EXIT STATUS:): no wrapped line restarts there.
        let headings = lines.filter { $0.first != " " }
        #expect(headings.allSatisfy { $0.prefix { $0 != ":" && $0 != "(" }.allSatisfy { $0.isUppercase || $0 == " " } }, "\(headings)")
        #expect(try await sonde().output == top.output, "sonde alone prints the same help")
        #expect(try await sonde("--version").output == "0.1.0\n")
        #expect(try await sonde("version").output == "0.1.0\n")
        let ping = try await sonde("help", "ping")
        #expect(ping.status == 0 && ping.output.hasPrefix("OVERVIEW: ICMP echo"), "\(ping.output)")
        let serve = try await sonde("help", "serve")
        #expect(serve.status == 0 && serve.output.contains("--max-concurrent"), "\(serve.output)")
        let unknown = try await sonde("help", "nope")
        #expect(unknown.status == 2)
        #expect(
            unknown.error.hasPrefix(
                "sonde: no help for 'nope': expected a probe (dns, grpc, http, mtr, ping, tcp, tracepath, traceroute, udp) or a command (probes, serve, gateway"
            ),
            "\(unknown.error)")
        let option = try await sonde("probes", "--bogus")
        #expect(option.status == 2)
        #expect(option.error == "sonde: unknown option '--bogus' for sonde probes: it takes --json only (see sonde probes --help)\n")
        let global = try await sonde("--bogus")
        #expect(global.status == 2 && global.error == "sonde: unknown option '--bogus' (see sonde --help)\n", "\(global.error)")
    }

    @Test func probesListsEveryParameterAsJSON() async throws {
        let result = try await sonde("probes", "--json")
        #expect(result.status == 0)
        let probes = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
        let ping = try #require(probes?.first { $0["kind"] as? String == "ping" })
        let parameters = try #require(ping["parameters"] as? [[String: Any]])
        let count = try #require(parameters.first { $0["name"] as? String == "count" })
        #expect(count["minimum"] as? Double == 1 && count["maximum"] as? Double == 1_000_000)
        #expect(count["option"] as? String == "-c/--count")
        let interval = try #require(parameters.first { $0["name"] as? String == "interval" })
        #expect(interval["default"] as? Double == 1)
        #expect(
            Set(parameters.compactMap { $0["name"] as? String }) == [
                "count", "interval", "timeout", "deadline", "size", "ttl", "tos", "pmtuDiscovery", "interface", "family",
            ])
    }
}
