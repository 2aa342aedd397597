import Foundation
import Testing

/// `sonde gateway`, the platform's side, with real processes in three namespaces: the gateway in the router
/// namespace, a sidecar (`sonde serve`) in the client namespace, the targets in the echo namespace — and the
/// platform calling the gateway from the echo namespace. Replies with ttl=63 prove the probe ran in the
/// sidecar's namespace (one hop from the targets), not in the gateway's (ttl=64).
@Suite(
    "sonde gateway, forwarding to the sidecar in a pod", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)),
    .serialized)
struct GatewayIntegrationTests {
    let network: TestNetwork
    static let sidecarToken = "sidecar-token-0123456789abcdef"

    init() async throws { network = try await TestNetwork.get() }

    func sidecar(port: Int) throws -> ServeIntegrationTests.Server {
        try ServeIntegrationTests.Server(
            namespace: network.client, port: port, arguments: ["--host", "::", "--min-interval", "0.05"],
            environment: ["SONDE_TOKEN": Self.sidecarToken]
        )
    }

    func gateway(port: Int, agentPort: Int, agentToken: String = sidecarToken, arguments: [String] = []) throws -> ServeIntegrationTests.Server {
        try ServeIntegrationTests.Server(
            namespace: network.router, port: port,
            arguments: [
                "--host", "10.77.2.254", "--agents", "10.77.1.0/24,fd00:77:1::/64,10.77.3.0/24", "--agent-port", String(agentPort),
                "--connect-timeout", "1",
            ] + arguments,
            command: "gateway", environment: ["SONDE_AGENT_TOKEN": agentToken], callerNamespace: network.echo, address: "10.77.2.254"
        )
    }

    @Test("forwards pings and any probe to the sidecar at srcIP and streams the answer back")
    func forwards() async throws {
        let agent = try sidecar(port: 18_410)
        try await agent.waitUntilServing()
        let gateway = try gateway(port: 18_411, agentPort: 18_410)
        try await gateway.waitUntilServing()

        // The original platform route: JSON by default, ping's text on request.
        let report = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.1.1/dstIP/10.77.2.2/count/3")
        #expect(report.status == 200, "\(report.body)")
        #expect(report.object["success"] as? Bool == true)
        #expect((report.object["summary"] as? [String: Any])?["received"] as? Int == 3, "\(report.body)")
        let text = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.1.1/dstIP/10.77.2.2/count/2", accept: "text/plain")
        #expect(text.status == 200)
        #expect(text.lines.first?.text == "PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data.", "\(text.body)")
        #expect(
            text.lines.filter { $0.text.hasPrefix("64 bytes from 10.77.2.2: icmp_seq=") && $0.text.contains(" ttl=63 ") }.count == 2, "\(text.body)")
        #expect(text.body.contains("2 packets transmitted, 2 received, 0% packet loss"))

        // Streamed through the gateway as each reply arrives, not at the end.
        let stream = try await gateway.request(
            "POST", "/v1/agents/10.77.1.1/probes/ping", body: #"{"target": "10.77.2.2", "count": 4, "interval": 0.4}"#, accept: "application/x-ndjson"
        )
        #expect(stream.status == 200)
        let replies = zip(stream.objects, stream.lines).filter { $0.0["type"] as? String == "reply" }.map(\.1.at)
        #expect(replies.count == 4, "\(stream.body)")
        if let first = replies.first, let last = replies.last {
            #expect(last - first > 0.9, "replies arrived \(replies) s after the request: spread out, as sent")
        }
        #expect(stream.objects.last?["type"] as? String == "report")

        // Any probe, GET or POST, over the sidecar's IPv6 address too; the sidecar's own loopback is its, not ours.
        let tcp = try await gateway.request("GET", "/v1/agents/fd00:77:1::1/probes/tcp?target=127.0.0.1:18410&count=1")
        #expect(tcp.status == 200, "\(tcp.body)")
        #expect(tcp.object["success"] as? Bool == true, "\(tcp.body)")
        let listing = try await gateway.request("GET", "/v1/agents/10.77.1.1/probes")
        #expect((listing.object["probes"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }.contains("dns") == true)

        // The sidecar's own verdicts pass through unchanged.
        let denied = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.1.1/dstIP/169.254.169.254/count/1")
        #expect(denied.status == 403)
        #expect((denied.object["error"] as? [String: Any])?["code"] as? String == "target_denied", "\(denied.body)")
        let invalid = try await gateway.request("POST", "/v1/agents/10.77.1.1/probes/ping", body: #"{"target": "10.77.2.2", "count": 0}"#)
        #expect(invalid.status == 400)
        #expect((invalid.object["error"] as? [String: Any])?["field"] as? String == "count")

        // The remote CLI through the gateway prints what a local run prints.
        let cli = try await Shell.captureAsync([
            "ip", "netns", "exec", network.echo, "env", "SONDE_TOKEN=\(ServeIntegrationTests.token)", Sonde.binary,
            "--agent", "http://10.77.2.254:18411/v1/agents/10.77.1.1", "ping", "-c", "2", "-i", "0.2", "10.77.2.2",
        ])
        #expect(cli.status == 0, "\(cli.error) \(cli.output)")
        #expect(
            cli.output.hasPrefix("PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data.\n64 bytes from 10.77.2.2: icmp_seq=1 ttl=63 time="),
            "\(cli.output)")
        #expect(cli.output.contains("2 packets transmitted, 2 received, 0% packet loss"))

        let metrics = try await gateway.request("GET", "/metrics")
        #expect(metrics.body.contains(#"sonde_gateway_forwards_total{outcome="ok"}"#), "\(metrics.body)")
        #expect(await gateway.terminate() == 0)
        #expect(await agent.terminate() == 0)
    }

    @Test("refuses srcIPs outside the agent networks, callers without the token, and says which sidecar failed how")
    func refusesAndFails() async throws {
        let agent = try sidecar(port: 18_420)
        try await agent.waitUntilServing()
        let gateway = try gateway(port: 18_421, agentPort: 18_420, arguments: ["--timeout", "2"])
        try await gateway.waitUntilServing()

        func error(_ reply: ServeIntegrationTests.Server.Reply) -> (code: String, message: String) {
            let detail = reply.object["error"] as? [String: Any] ?? [:]
            return (detail["code"] as? String ?? "", detail["message"] as? String ?? "")
        }
        // Not an SSRF tool: only literal addresses inside --agents, never metadata or loopback, never a host name.
        for srcIP in ["10.77.2.2", "169.254.169.254", "127.0.0.1", "fd00:77:2::2"] {
            let reply = try await gateway.request("GET", "/v1/agents/\(srcIP)/probes")
            #expect(reply.status == 403, "\(srcIP): \(reply.body)")
            #expect(error(reply).code == "agent_denied", "\(srcIP)")
        }
        let outside = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.2.2/dstIP/10.77.2.2/count/1")
        #expect(error(outside).message.contains("outside the agent networks (--agents 10.77.1.0/24,fd00:77:1::/64,10.77.3.0/24)"), "\(outside.body)")
        let name = try await gateway.request("GET", "/v1/agents/sidecar.test/probes")
        #expect(name.status == 400)
        #expect(error(name).message.contains("invalid srcIP 'sidecar.test'"), "\(name.body)")
        let count = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.1.1/dstIP/10.77.2.2/count/11")
        #expect(count.status == 400)
        #expect(error(count).message == "invalid count '11': expected an integer from 1 to 10")
        let anonymous = try await gateway.request("GET", "/v1/agents/10.77.1.1/probes", token: false)
        #expect(anonymous.status == 401)
        let wrong = try await gateway.request("GET", "/v1/agents/10.77.1.1/probes", bearer: Self.sidecarToken)
        #expect(wrong.status == 401, "the sidecars' token does not open the gateway")

        // Nothing listens on 10.77.1.254 (the router itself): refused, 502.
        let refused = try await gateway.request("GET", "/api/v2/ping/srcIP/10.77.1.254/dstIP/10.77.2.2/count/1")
        #expect(refused.status == 502, "\(refused.body)")
        #expect(
            error(refused) == (
                "agent_unreachable", "the sidecar: http://10.77.1.254:18420 refused the connection: is sonde serve running there, on port 18420?"
            ))

        // 10.77.3.40 drops every SYN (nftables): no connection within --connect-timeout, 504.
        // 10.77.3.41 accepts the connection (kernel backlog) but never answers: 504 after --timeout.
        let faults = network.faults
        #expect(
            system(
                """
                ip -n \(faults) addr add 10.77.3.40/24 dev f0 && ip -n \(faults) addr add 10.77.3.41/24 dev f0 && \
                ip netns exec \(faults) nft add table inet sondegw && \
                ip netns exec \(faults) nft add chain inet sondegw input '{ type filter hook input priority 0; }' && \
                ip netns exec \(faults) nft add rule inet sondegw input ip daddr 10.77.3.40 tcp dport 18420 drop
                """) == 0)
        // Ends by itself after 20 s at the latest.
        let pidFile = NSTemporaryDirectory() + "sonde-silent-\(getpid()).pid"
        _ = system(
            """
            ip netns exec \(faults) python3 -c 'import socket,time; s=socket.socket(); s.bind(("10.77.3.41",18420)); s.listen(8); time.sleep(20)' \
            >/dev/null 2>&1 & echo $! > \(pidFile)
            """)
        defer {
            if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            ) {
                kill(pid, SIGKILL)
            }
            _ = system(
                "ip netns exec \(faults) nft delete table inet sondegw; ip -n \(faults) addr del 10.77.3.40/24 dev f0; ip -n \(faults) addr del 10.77.3.41/24 dev f0"
            )
        }
        // The silent listener is up when the kernel lists it (not after a guessed delay).
        var listening = false
        for _ in 0..<100 where !listening {
            listening = !((try? Shell.capture("ip", "netns", "exec", faults, "ss", "-Hltn", "src", "10.77.3.41:18420"))?.output ?? "").isEmpty
            if !listening { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(listening, "the silent listener started")
        let dropped = try await gateway.request("GET", "/v1/agents/10.77.3.40/probes")
        #expect(dropped.status == 504, "\(dropped.body)")
        #expect(error(dropped) == ("agent_timeout", "the sidecar: http://10.77.3.40:18420 did not accept a connection within 1 s"))
        let mute = try await gateway.request("GET", "/v1/agents/10.77.3.41/probes")
        #expect(mute.status == 504, "\(mute.body)")
        #expect(error(mute) == ("agent_timeout", "the sidecar: http://10.77.3.41:18420 sent no answer within 2 s"))

        // A gateway holding the wrong token for the sidecars: 502, and it says which token to check.
        let misconfigured = try self.gateway(port: 18_422, agentPort: 18_420, agentToken: "not-the-sidecar-token-0000")
        try await misconfigured.waitUntilServing()
        let rejected = try await misconfigured.request("GET", "/v1/agents/10.77.1.1/probes")
        #expect(rejected.status == 502)
        #expect(error(rejected).code == "agent_auth_failed")
        #expect(error(rejected).message.contains("check --agent-token-file (or SONDE_AGENT_TOKEN)"))

        let metrics = try await gateway.request("GET", "/metrics")
        #expect(metrics.body.contains(#"sonde_gateway_forwards_total{outcome="timeout"} 2"#), "\(metrics.body)")
        #expect(metrics.body.contains(#"sonde_gateway_forwards_total{outcome="unreachable"} 1"#), "\(metrics.body)")
        // Still healthy, nothing left forwarding, and a clean exit; the gateway itself holds no capability.
        let status = ProcessStatus.process(gateway.process.processIdentifier)
        #expect(status["CapEff"] == "0000000000000000", "\(status)")
        #expect(await misconfigured.terminate() == 0)
        #expect(await gateway.terminate() == 0)
        #expect(await agent.terminate() == 0)
    }
}
