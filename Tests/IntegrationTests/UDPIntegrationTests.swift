import Foundation
import Testing

/// `sonde udp` in the test network: an echo on 10.77.2.2:7 (`echo_services.py`), a closed port there (the echo
/// namespace keeps Linux's default ICMP rate limit), an nftables reject (admin-prohibited) and drop on the echo host,
/// a router's `prohibit` and `unreachable` routes (on a ``RateLimitedPath`` of the test's own), the shared router's
/// `blackhole` (10.77.7/24), and dnsmasq.
/// Side by side with netcat-openbsd where it has an answer to give. One test at a time: the echo host's ICMP rate limit
/// is shared by every error it sends the client, so a burst in one test would silence another's port unreachable.
@Suite(
    "sonde udp: answered, closed, filtered, unreachable, no answer", .serialized, .enabled(if: TestNetwork.available, TestNetwork.skipReason),
    .timeLimit(.minutes(3)))
struct UDPIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func udp(_ arguments: String...) async throws -> Sonde.Run {
        try await Sonde.run(["udp", "--json", "-W", "1"] + arguments, in: network.client)
    }

    func attempts(_ run: Sonde.Run) -> [[String: Any]] { run.events("attempt") }

    func icmp(_ attempt: [String: Any]?) -> [String: Any] { attempt?["icmp"] as? [String: Any] ?? [:] }

    @Test("an answer, with its bytes and time; --expect judges it; IPv6 too; nc sees the same answer")
    func answered() async throws {
        for target in ["10.77.2.2:7", "[fd00:77:2::2]:7"] {
            let run = try await udp("--send", "hello", "--expect", "^echo hello$", "-c", "2", "-i", "0.1", target)
            #expect(run.status == 0, "\(target): \(run.output) \(run.error)")
            #expect(attempts(run).map { $0["outcome"] as? String ?? "" } == ["answered", "answered"], "\(run.output)")
            #expect(attempts(run).first?["reply"] as? String == "echo hello" && attempts(run).first?["bytes"] as? Int == 10)
            #expect(run.summary["state"] as? String == "open" && run.summary["succeeded"] as? Int == 2)
        }
        let netcat = try Shell.capture(["sh", "-c", "printf hello | ip netns exec \(network.client) nc -u -w 1 10.77.2.2 7"])
        #expect(netcat.output == "echo hello", "nc: \(netcat.output)")

        let unmatched = try await udp("--send", "hello", "--expect", "^bye", "10.77.2.2:7")
        #expect(unmatched.status == 1 && attempts(unmatched).first?["matched"] as? Bool == false, "\(unmatched.output)")
        #expect(unmatched.summary["expectFailures"] as? Int == 1)

        // A real DNS query, written with escapes: dnsmasq answers it.
        let query = #"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x04test\x00\x00\x01\x00\x01"#
        let dns = try await udp("--send", query, "10.77.2.2:53")
        #expect(dns.status == 0 && (attempts(dns).first?["bytes"] as? Int ?? 0) > 30, "\(dns.output)")
    }

    @Test("closed: port unreachable from the target itself; a burst is rate-limited by the target, and still reads as closed")
    func closed() async throws {
        let one = try await udp("10.77.2.2:9")
        #expect(one.status == 1 && attempts(one).first?["outcome"] as? String == "closed", "\(one.output)")
        #expect(icmp(attempts(one).first)["from"] as? String == "10.77.2.2" && icmp(attempts(one).first)["fromTarget"] as? Bool == true)
        #expect(icmp(attempts(one).first)["type"] as? Int == 3 && icmp(attempts(one).first)["code"] as? Int == 3)
        let six = try await udp("[fd00:77:2::2]:9")
        #expect(icmp(attempts(six).first)["type"] as? Int == 1 && icmp(attempts(six).first)["code"] as? Int == 4, "\(six.output)")

        // 30 datagrams in 0.3 s to a host with Linux's default limit (a burst of 6, then one a second): silence
        // follows, which is the rate limit, not an open port.
        let burst = try await udp("-c", "30", "-i", "0.01", "-W", "0.3", "10.77.2.2:9")
        let closed = burst.summary["closed"] as? Int ?? 0
        let silent = burst.summary["noAnswer"] as? Int ?? 0
        #expect(closed >= 1 && closed < 30 && silent > 0 && closed + silent == 30, "\(burst.summary)")
        #expect(burst.summary["state"] as? String == "closed" && burst.summary["rateLimited"] as? Bool == true, "\(burst.summary)")
        // The bucket refills at one a second: the text run below starts with tokens again.
        try await Task.sleep(for: .seconds(2.5))
        let text = try await Sonde.run(["udp", "-c", "12", "-i", "0.01", "-W", "0.3", "10.77.2.2:9"], in: network.client)
        #expect(text.output.contains("seq=1 closed: port unreachable from 10.77.2.2 (the target), time="), "\(text.output)")
        #expect(text.output.contains("state: closed (") && text.output.contains("rate-limits its port unreachables"), "\(text.output)")
        // The bucket refills at one a second: leave the next test its port unreachables.
        try await Task.sleep(for: .seconds(2.5))
    }

    @Test("filtered by the router (prohibit route) or by the target (nftables reject), each named; unreachable; silence")
    func filteredAndSilent() async throws {
        // The router's verdicts come from a path of this test's own: a router's unreachables share one token bucket
        // per client, which the other suites' probes through the shared router would drain.
        let path = try await RateLimitedPath(tag: "udp")
        defer { path.remove() }
        let onPath = { (arguments: [String], user: Int?) in
            try await Sonde.run(["udp", "--json", "-W", "1"] + arguments, in: path.client, asUser: user)
        }
        let router = try await onPath(["\(RateLimitedPath.prohibited):53"], nil)
        #expect(router.status == 1 && attempts(router).first?["outcome"] as? String == "filtered", "\(router.output)")
        #expect(
            icmp(attempts(router).first)["from"] as? String == RateLimitedPath.unreachableRouter
                && icmp(attempts(router).first)["fromTarget"] as? Bool == false)
        #expect(icmp(attempts(router).first)["meaning"] as? String == "administratively prohibited")

        let unreachable = try await onPath(["\(RateLimitedPath.unreachable):53"], nil)
        #expect(attempts(unreachable).first?["outcome"] as? String == "unreachable", "\(unreachable.output)")
        #expect(unreachable.summary["state"] as? String == "unreachable")

        // No privilege needed: the same verdicts as nobody, without CAP_NET_RAW.
        let unprivileged = try await onPath(["\(RateLimitedPath.prohibited):53"], 65534)
        #expect(
            unprivileged.status == 1 && attempts(unprivileged).first?["outcome"] as? String == "filtered",
            "\(unprivileged.output) \(unprivileged.error)")
        #expect(icmp(attempts(unprivileged).first)["from"] as? String == RateLimitedPath.unreachableRouter)
        let answeredAsNobody = try await Sonde.run(["udp", "--json", "--send", "x", "10.77.2.2:7"], in: network.client, asUser: 65534)
        #expect(answeredAsNobody.status == 0, "\(answeredAsNobody.output) \(answeredAsNobody.error)")

        let blackhole = try await udp("-W", "0.5", "10.77.7.9:53")
        #expect(attempts(blackhole).first?["outcome"] as? String == "no_answer" && blackhole.summary["state"] as? String == "open|filtered")

        let echo = network.echo
        #expect(
            system(
                """
                ip netns exec \(echo) nft add table inet sondeudp && \
                ip netns exec \(echo) nft add chain inet sondeudp input '{ type filter hook input priority 0; }' && \
                ip netns exec \(echo) nft add rule inet sondeudp input udp dport 5999 reject with icmpx type admin-prohibited && \
                ip netns exec \(echo) nft add rule inet sondeudp input udp dport 5998 drop
                """) == 0)
        defer { _ = system("ip netns exec \(echo) nft delete table inet sondeudp") }
        let rejected = try await udp("10.77.2.2:5999")
        #expect(attempts(rejected).first?["outcome"] as? String == "filtered", "\(rejected.output)")
        #expect(icmp(attempts(rejected).first)["fromTarget"] as? Bool == true && icmp(attempts(rejected).first)["code"] as? Int == 13)
        let dropped = try await udp("-W", "0.5", "10.77.2.2:5998")
        #expect(attempts(dropped).first?["outcome"] as? String == "no_answer", "\(dropped.output)")
    }

    @Test("over the API: the policy on the target, the pod's own loopback gets no payload, /probe metrics")
    func api() async throws {
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_315, arguments: ["--deny", "10.77.6.0/24"])
        try await server.waitUntilServing()
        let echoed = try await server.request("POST", "/v1/probes/udp", body: #"{"target": "10.77.2.2:7", "send": "hi"}"#)
        #expect(echoed.status == 200 && echoed.object["success"] as? Bool == true, "\(echoed.body)")
        let denied = try await server.request("POST", "/v1/probes/udp", body: #"{"target": "10.77.6.9:53"}"#)
        #expect(denied.status == 403 && denied.body.contains("target_denied"), "\(denied.body)")
        let local = try await server.request("POST", "/v1/probes/udp", body: #"{"target": "127.0.0.1:18315", "send": "x"}"#)
        #expect(local.status == 403 && local.body.contains("send"), "\(local.body)")
        let tooMany = try await server.request("POST", "/v1/probes/udp", body: #"{"target": "10.77.2.2:7", "count": 100000}"#)
        #expect(tooMany.status == 400, "\(tooMany.body)")
        let metrics = try await server.request("GET", "/probe?module=udp&target=10.77.2.2:9")
        #expect(metrics.status == 200 && metrics.body.contains("probe_udp_closed 1") && metrics.body.contains("probe_success 0"), "\(metrics.body)")
        _ = await server.terminate()
    }

    @Test(
        "bad input: one line naming the value and what is allowed, exit 2",
        arguments: [
            (["10.77.2.2"], "HOST:PORT"),
            (["--expect", "(", "10.77.2.2:7"], "--expect"),
            (["-c", "0", "10.77.2.2:7"], "invalid value '0' for -c/--count"),
            (["-s", "fd00:77:1::1", "10.77.2.2:7"], "an address of the target's family"),
        ])
    func badInput(arguments: [String], message: String) async throws {
        let run = try await Sonde.run(["udp"] + arguments, in: network.client)
        #expect(run.status == 2, "\(run.output) \(run.error)")
        #expect(run.error.contains(message) && run.error.split(separator: "\n").count == 1, "\(run.error)")
    }
}
