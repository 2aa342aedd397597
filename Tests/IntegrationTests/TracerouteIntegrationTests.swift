import Foundation
import Testing

/// `sonde traceroute` in the test network, side by side with Debian's traceroute (`-I`, the same method) on the
/// same paths: client → router → echo; the router's `unreachable` (10.77.5/24), `prohibit` (10.77.6/24) and
/// `blackhole` (10.77.7/24) routes; and a path of its own through a router with Linux's default ICMP rate limit. The
/// multi-router ECMP path is the next step (issue 17).
@Suite(
    "sonde traceroute: the hops, as traceroute -I lists them", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct TracerouteIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func trace(_ arguments: [String], asUser user: Int? = nil) async throws -> Sonde.Run {
        try await Sonde.run(["traceroute", "--json", "-w", "1"] + arguments, in: network.client, asUser: user)
    }

    func hops(_ run: Sonde.Run) -> [[String: Any]] { run.events("hop").compactMap { $0["hop"] as? [String: Any] } }

    /// Each hop's answering addresses and marks, as sonde reports them.
    func addresses(_ run: Sonde.Run) -> [[String]] {
        hops(run).map { hop in
            (hop["probes"] as? [[String: Any]] ?? []).map { probe in
                ((probe["from"] as? String) ?? "*") + ((probe["marker"] as? String).map { " " + $0 } ?? "")
            }
        }
    }

    /// Debian's traceroute on the same path: per hop, each probe's address (or `*`) and mark.
    func theirs(_ arguments: [String], family: String = "-4") throws -> [[String]] {
        let output = try Shell.capture(["ip", "netns", "exec", network.client, "traceroute", family, "-I", "-n", "-w", "1"] + arguments).output
        return output.split(separator: "\n").dropFirst().map { line in
            var probes: [String] = []
            var address = "*"
            for field in line.split(separator: " ").dropFirst() {
                if field == "*" {
                    probes.append("*")
                } else if field.hasPrefix("!") {
                    probes[probes.count - 1] += " " + field
                } else if field == "ms" || Double(field) != nil {
                    if field == "ms" { probes.append(address) }
                } else {
                    address = String(field)
                }
            }
            return probes
        }
    }

    @Test("two hops to the echo host over IPv4 and IPv6, the same as traceroute -I; text as traceroute prints it")
    func hopsToTheTarget() async throws {
        for (target, router, family) in [("10.77.2.2", "10.77.1.254", "-4"), ("fd00:77:2::2", "fd00:77:1::fe", "-6")] {
            let run = try await trace([target])
            #expect(run.status == 0, "\(target): \(run.output) \(run.error)")
            #expect(addresses(run) == [[router, router, router], [target, target, target]], "\(run.output)")
            #expect(run.summary["reached"] as? Bool == true && run.summary["hopCount"] as? Int == 2)
            #expect(try theirs([target], family: family) == addresses(run), "traceroute -I on the same path")
        }
        let text = try await Sonde.run(["traceroute", "-q", "2", "10.77.2.2"], in: network.client)
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "traceroute to 10.77.2.2 (10.77.2.2), 30 hops max, ICMP echo", "\(text.output)")
        #expect(lines.count == 3 && lines[1].hasPrefix(" 1  10.77.1.254  ") && lines[2].hasPrefix(" 2  10.77.2.2  "), "\(text.output)")
        #expect(lines[1].components(separatedBy: " ms").count == 3, "two probes, each with its time: \(lines[1])")
    }

    @Test("where the path stops: !H and !X from the router, as traceroute marks them; a black hole is stars to -m")
    func whereItStops() async throws {
        // A router sends its unreachables through a token bucket of its own (Linux's ip_error: one a second per client,
        // and none to a client it has not heard from in a while), whatever the TTL: so the mark comes at whichever hop
        // the bucket allows, after stars, for traceroute as for Sonde. One probe at a time, one per hop, for both.
        for (target, mark) in [("10.77.5.9", "!H"), ("10.77.6.9", "!X")] {
            let run = try await trace(["-q", "1", "-N", "1", "-m", "10", target])
            #expect(run.status == 1, "\(run.output)")
            let seen = addresses(run)
            #expect(seen.last == ["10.77.1.254 \(mark)"] && seen.dropLast().allSatisfy { $0 == ["*"] }, "\(run.output)")
            #expect(hops(run).last?["stops"] as? Bool == true && run.summary["reached"] as? Bool == false)
            let traceroute = try theirs(["-q", "1", "-N", "1", "-m", "10", target])
            #expect(traceroute.last == ["10.77.1.254 \(mark)"] && traceroute.dropLast().allSatisfy { $0 == ["*"] }, "traceroute: \(traceroute)")
        }
        let hole = try await trace(["-m", "3", "-q", "1", "-w", "0.3", "10.77.7.9"])
        #expect(hole.status == 1 && addresses(hole) == [["*"], ["*"], ["*"]], "\(hole.output)")
        let text = try await Sonde.run(["traceroute", "-m", "2", "-q", "1", "-w", "0.3", "10.77.7.9"], in: network.client)
        #expect(text.output.hasSuffix(" 1  *\n 2  *\n10.77.7.9 did not answer: the trace stops at hop 2\n"), "\(text.output)")
    }

    @Test("without privileges: ping sockets, the same hops (the error queue says who sent each time-exceeded)")
    func unprivileged() async throws {
        // Many hops in flight: a time-exceeded for one must not fail the next send (a ping socket's pending error).
        let run = try await trace(["-q", "1", "10.77.2.2"], asUser: 65534)
        #expect(run.status == 0 && addresses(run) == [["10.77.1.254"], ["10.77.2.2"]], "\(run.output) \(run.error)")
    }

    @Test("a router with Linux's default ICMP rate limit: Sonde names it rate-limiting, where traceroute shows loss")
    func rateLimitingRouter() async throws {
        let path = try await RateLimitedPath(tag: "tr")
        defer { path.remove() }
        let client = path.client
        let run = try await Sonde.run(["traceroute", "--json", "-q", "10", "-N", "10", "-w", "1", "10.81.3.2"], in: client)
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let traced = hops(run)
        let answered = traced.map { hop in (hop["probes"] as? [[String: Any]] ?? []).filter { $0["from"] != nil }.count }
        #expect(answered.count == 3 && answered[0] >= 1 && answered[0] < 10 && answered[1] == 10 && answered[2] == 10, "\(answered)")
        let limited = run.events("rate_limited").compactMap { ($0["hop"] as? [String: Any])?["ttl"] as? Int }
        #expect(limited == [1], "hop 1 is named rate-limiting: \(run.output)")
        // traceroute, on the same path a moment later, shows the same silence as loss at hop 1.
        let theirs = try Shell.capture(["ip", "netns", "exec", client, "traceroute", "-I", "-n", "-q", "10", "-N", "10", "-w", "1", "10.81.3.2"])
        let first = theirs.output.split(separator: "\n").dropFirst().first ?? ""
        #expect(first.contains("*") && first.contains("10.81.1.254"), "traceroute: \(theirs.output)")
        let text = try await Sonde.run(["traceroute", "-q", "10", "-N", "10", "-w", "1", "10.81.3.2"], in: client)
        #expect(text.output.contains("hop 1 answered ") && text.output.contains("it rate-limits its ICMP errors"), "\(text.output)")
    }

    @Test("-f starts later, -N bounds what is in flight; over the API the policy and the server's limits apply")
    func optionsAndAPI() async throws {
        let late = try await trace(["-f", "2", "-N", "1", "-q", "1", "10.77.2.2"])
        #expect(hops(late).map { $0["ttl"] as? Int ?? 0 } == [2] && late.status == 0, "\(late.output)")
        let bad = try await Sonde.run(["traceroute", "-f", "9", "-m", "3", "10.77.2.2"], in: network.client)
        #expect(bad.status == 2 && bad.error.contains("a TTL no higher than maxHops (3)"), "\(bad.error)")

        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_316, arguments: ["--deny", "10.77.6.0/24"])
        try await server.waitUntilServing()
        let traced = try await server.request("POST", "/v1/probes/traceroute", body: #"{"target": "10.77.2.2", "queries": 1, "wait": 1}"#)
        #expect(traced.status == 200 && traced.object["success"] as? Bool == true, "\(traced.body)")
        let denied = try await server.request("POST", "/v1/probes/traceroute", body: #"{"target": "10.77.6.9"}"#)
        #expect(denied.status == 403, "\(denied.body)")
        let metrics = try await server.request("GET", "/probe?module=traceroute&target=10.77.2.2")
        #expect(
            metrics.body.contains("probe_traceroute_hops 2") && metrics.body.contains(#"probe_traceroute_hop_rtt_seconds{ttl="1"}"#),
            "\(metrics.body)")
        _ = await server.terminate()
    }
}
