import Foundation
import Testing

/// `sonde tcp` end to end: listeners in the echo namespace, a blackhole and an unreachable route at the router.
@Suite("sonde tcp across a test network", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct TCPIntegrationTests {
    enum Family: String, CaseIterable, CustomTestStringConvertible {
        case v4, v6
        var testDescription: String { rawValue }
        func echo(_ port: Int) -> String { self == .v4 ? "10.77.2.2:\(port)" : "[fd00:77:2::2]:\(port)" }
        func routed(_ subnet: Int, _ port: Int) -> String { self == .v4 ? "10.77.\(subnet).1:\(port)" : "[fd00:77:\(subnet)::1]:\(port)" }
    }

    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func tcp(_ target: String, _ options: String...) async throws -> Sonde.Run {
        try await Sonde.run(["tcp", "--json", "-i", "0.05"] + options + [target], in: network.client)
    }

    func outcomes(_ run: Sonde.Run) -> [String] { run.events("attempt").compactMap { $0["outcome"] as? String } }

    @Test(arguments: Family.allCases)
    func anOpenPortWithItsBanner(_ family: Family) async throws {
        let run = try await tcp(family.echo(2222), "-c", "3", "--banner")
        #expect(run.status == 0, "\(run.error)")
        #expect(outcomes(run) == ["open", "open", "open"])
        #expect(run.events("attempt").allSatisfy { $0["banner"] as? String == "SSH-2.0-SondeTest" && ($0["timeMs"] as? Double ?? -1) > 0 })
        #expect(run.count("connected") == 3)
        #expect((run.summary["connect"] as? [String: Any])?["samples"] as? Int == 3)
        let text = try await Sonde.run(["tcp", family.echo(2222)], in: network.client)
        let endpoint = family == .v4 ? "10.77.2.2:2222" : "[fd00:77:2::2]:2222"
        #expect(text.output.hasPrefix("Connected to \(endpoint): seq=1 time="))
        #expect(text.output.contains("1 attempts, 1 connected, 0% failed"))
    }

    @Test(arguments: Family.allCases)
    func aClosedPortIsRefused(_ family: Family) async throws {
        let run = try await tcp(family.echo(2), "-c", "2")
        #expect(outcomes(run) == ["refused", "refused"])
        #expect(run.events("attempt").allSatisfy { $0["errno"] as? String == "ECONNREFUSED" })
        #expect(run.status == 1)
    }

    @Test(arguments: Family.allCases)
    func sendAndExpect(_ family: Family) async throws {
        let good = try await tcp(family.echo(2222), "--send", "ping\\n", "--expect", "pong ping")
        #expect(good.status == 0)
        let expect = good.events("attempt").first?["expect"] as? [String: Any]
        #expect(expect?["matched"] as? Bool == true)
        #expect((expect?["received"] as? String)?.contains("pong ping") == true)
        let bad = try await tcp(family.echo(2222), "--send", "ping\\n", "--expect", "^HTTP/1\\.1 200", "--read-timeout", "0.3")
        #expect(bad.status == 1)
        #expect((bad.events("attempt").first?["expect"] as? [String: Any])?["matched"] as? Bool == false)
        #expect(bad.count("expectFailures") == 1)
        let silent = try await tcp(family.echo(7777), "--banner", "--read-timeout", "0.3")
        #expect(silent.events("attempt").first?["banner"] as? String == "")
        #expect(silent.status == 1, "a banner was asked for and none came")
    }

    @Test(arguments: Family.allCases)
    func noAnswerIsATimeout(_ family: Family) async throws {
        let started = Date()
        let run = try await tcp(family.routed(7, 80), "-c", "2", "-W", "0.4")
        #expect(outcomes(run) == ["timeout", "timeout"])
        #expect(run.count("timedOut") == 2)
        #expect(run.status == 1)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test(arguments: Family.allCases)
    func anUnreachableRouteIsReportedFromTheICMPError(_ family: Family) async throws {
        // IPv4 routers rate-limit these errors per source (one a second after the first second): attempts
        // go 1.1 s apart and at least one must come back unreachable, none open.
        var options = ["-c", "3", "-i", "1.1", "-W", "1"]
        if family == .v4 { options += ["-s", "10.77.1.2"] }  // a source of its own: the limit is per source
        let run = try await Sonde.run(["tcp", "--json"] + options + [family.routed(5, 80)], in: network.client)
        let seen = outcomes(run)
        #expect(seen.contains("unreachable"))
        #expect(Set(seen).isSubset(of: ["unreachable", "timeout"]))
        // IPv4 "host unreachable" and IPv6 "no route" reach the socket as these two.
        let unreachable = run.events("attempt").filter { $0["outcome"] as? String == "unreachable" }
        #expect(unreachable.allSatisfy { ["EHOSTUNREACH", "ENETUNREACH"].contains($0["errno"] as? String ?? "") })
        // The ICMP error ends the connect at once: well before the 1 s handshake timeout, not at it.
        #expect(unreachable.allSatisfy { ($0["timeMs"] as? Double ?? 1000) < 500 }, "\(unreachable)")
        #expect(run.status == 1)
    }

    @Test func severalTargetsAtOnce() async throws {
        let run = try await Sonde.run(
            ["tcp", "-q", "-c", "2", "-i", "0.05", Family.v4.echo(2222), Family.v6.echo(2222), Family.v4.echo(2)], in: network.client)
        #expect(run.status == 1, "one of them is refused")
        #expect(run.output.contains("10.77.2.2:2222      : attempts/connected/%failed = 2/2/0%, min/avg/max = "))
        #expect(run.output.contains("[fd00:77:2::2]:2222 : attempts/connected/%failed = 2/2/0%, min/avg/max = "))
        #expect(run.output.contains("10.77.2.2:2         : attempts/connected/%failed = 2/0/100%\n"))
    }
}
