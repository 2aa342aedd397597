import Foundation
import Testing

/// The threat model's promises (Docs/threat-model.md), each attacked against the real binaries: `sonde serve`
/// in the client namespace, `sonde gateway` in the router namespace, hostile peers of the test's own in the
/// echo or client namespace. Every target is inside the namespaces TestNetwork made.
@Suite(
    "Hostile callers: the sidecar and the gateway keep their promises", .enabled(if: TestNetwork.available, TestNetwork.skipReason),
    .serialized, .timeLimit(.minutes(5))
)
struct HostileCallerTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    static let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile.py").path

    /// Runs one mode of Support/hostile.py in `namespace` and returns the JSON object it printed last.
    func attack(_ arguments: [String], in namespace: String, timeout: Double = 60) async throws -> [String: Any] {
        let result = try await Shell.captureAsync(["ip", "netns", "exec", namespace, "python3", Self.hostile] + arguments, timeout: timeout)
        let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any]
        #expect(object != nil, "hostile.py \(arguments.joined(separator: " ")) printed no result: \(result.output) \(result.error)")
        return object ?? [:]
    }

    func sidecar(port: Int, _ arguments: [String] = [], withToken: Bool = true) async throws -> ServeIntegrationTests.Server {
        let server = try ServeIntegrationTests.Server(
            namespace: network.client, port: port, arguments: ["--min-interval", "0.05"] + arguments, withToken: withToken
        )
        try await server.waitUntilServing()
        return server
    }

    @Test("a scrape-timeout header or a module timeout far beyond any sane value is clamped or refused, never a crash")
    func hugeTimeouts() async throws {
        let server = try await sidecar(port: 18_501)
        for header in ["1e300", "9.3e18", "86400000"] {
            let reply = try await server.request(
                "GET", "/probe?module=icmp_single&target=10.77.2.2", headers: ["X-Prometheus-Scrape-Timeout-Seconds: \(header)"]
            )
            #expect(reply.status == 200, "header \(header): \(reply.body)")
            #expect(reply.body.contains("probe_success 1"), "header \(header): \(reply.body)")
        }
        #expect(server.process.isRunning, "the server survived: \(server.log.value)")
        #expect(try await server.request("GET", "/healthz", token: false).status == 200)

        let modules = "/tmp/\(TestNetwork.prefix)-huge-timeout.yml"
        try "modules:\n  slow:\n    probe: ping\n    timeout: 1e300s\n".write(toFile: modules, atomically: true, encoding: .utf8)
        let refused = try await Sonde.run(["serve", "--port", "18599", "--modules", modules], in: network.client, timeout: 20)
        #expect(refused.status == 2, "\(refused.output) \(refused.error)")
        #expect(refused.error.contains("huge-timeout.yml: module slow: line 4: invalid timeout '1e300s' (expected 1ms to 86400s"), "\(refused.error)")
        #expect(await server.terminate() == 0)
    }

    @Test("patterns that make a backtracking engine explode run in linear time; health answers throughout")
    func regexBombs() async throws {
        let server = try await sidecar(port: 18_502, ["--max-concurrent-per-client", "64"])
        // A server of the caller's choosing that sends 'a' * 60 + '!' to whoever connects.
        async let flood = attack(["flood", "2224", "12"], in: network.echo, timeout: 30)
        var listening = false
        for _ in 0..<50 where !listening {
            let probe = try await server.request("GET", "/v1/probes/tcp?target=10.77.2.2:2224&timeout=0.2")
            listening = (probe.object["summary"] as? [String: Any])?["connected"] as? Int == 1
            if !listening { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(listening, "the flood server is up")

        async let health = attack(["healthz", "10.77.1.1", "18502", "6"], in: network.client, timeout: 30)
        let bombs = [#"(a+)+$"#, #"(a|aa)+$"#, #"(a*)*b"#, #"^(([a-z])+.)+[A-Z]([a-z])+$"#]
        let replies = try await withThrowingTaskGroup(of: ServeIntegrationTests.Server.Reply.self) { group in
            for index in 0..<24 {
                let pattern = bombs[index % bombs.count]
                let body = #"{"target": "10.77.2.2:2224", "count": 3, "interval": 0.1, "readTimeout": 0.5, "expect": "\#(pattern)"}"#
                group.addTask { try await server.request("POST", "/v1/probes/tcp", body: body) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for reply in replies {
            #expect(reply.status == 200, "\(reply.body)")
            let summary = reply.object["summary"] as? [String: Any] ?? [:]
            // The text really arrived and was matched: every attempt connected and failed its expectation.
            #expect(summary["connected"] as? Int == 3 && summary["expectFailures"] as? Int == 3, "\(reply.body)")
        }
        let liveness = try await health
        #expect(liveness["failures"] as? Int == 0, "\(liveness)")
        #expect((liveness["answers"] as? Int ?? 0) > 20, "\(liveness)")
        #expect((liveness["slowestSeconds"] as? Double ?? 99) < 1.0, "/healthz answered within 1 s throughout: \(liveness)")
        #expect(((try await flood)["served"] as? Int ?? 0) >= 72, "the flood server served every attempt")
        // A construct that needs backtracking is refused with RE2's reason.
        let backreference = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "10.77.2.2:2222", "expect": "(a)\\1"}"#)
        #expect(backreference.status == 400)
        #expect(backreference.body.contains("RE2"), "\(backreference.body)")
        #expect(await server.terminate() == 0)
    }

    @Test("send, expect and banner towards the pod's own addresses are refused unless the operator allows them")
    func noLoopbackContent() async throws {
        let server = try await sidecar(port: 18_503)
        // The sidecar itself listens on the pod's loopback and its interface: the prize a caller would read.
        let own = ["127.0.0.1:18503", "localhost:18503", "10.77.1.1:18503", "[::1]:18503", "[::ffff:127.0.0.1]:18503"]
        let asks = [#""send": "GET /v1/status HTTP/1.0\\r\\n\\r\\n", "expect": "uid""#, #""banner": true"#]
        for target in own {
            for ask in asks {
                let reply = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "\#(target)", \#(ask)}"#)
                #expect(reply.status == 403, "\(target) \(ask): \(reply.body)")
                #expect(reply.body.contains("--allow-local-content"), "\(reply.body)")
            }
            // Whether the port is open is still a fair question.
            let connect = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "\#(target)"}"#)
            #expect(connect.status == 200, "\(target): \(connect.body)")
        }
        // Other hosts' banners are fine.
        let remote = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "10.77.2.2:2222", "banner": true}"#)
        #expect(remote.status == 200 && remote.body.contains("\"success\":true"), "\(remote.body)")
        #expect(await server.terminate() == 0)

        let opened = try await sidecar(port: 18_504, ["--allow-local-content"])
        let reply = try await opened.request(
            "POST", "/v1/probes/tcp",
            body: #"{"target": "127.0.0.1:18504", "send": "GET /healthz HTTP/1.0\\r\\n\\r\\n", "expect": "^HTTP/1.[01] 200"}"#
        )
        #expect(reply.status == 200 && reply.body.contains("\"success\":true"), "\(reply.body)")
        // Misuse leaves a trace: the probe, where it went, and a digest of what was sent — not the payload itself.
        let trace = opened.log.value.split(separator: "\n").first { $0.contains(" probe ") && $0.contains("probe=tcp") } ?? ""
        #expect(trace.contains("address=127.0.0.1") && trace.contains("port=18504") && trace.contains("content=send,expect"), "\(trace)")
        #expect(trace.contains("contentSHA256="), "\(trace)")
        #expect(!opened.log.value.contains("GET /healthz HTTP/1.0"), "the payload is not logged")
        #expect(await opened.terminate() == 0)
    }

    @Test("half-sent requests are cut at the idle timeout; over the connection cap callers get 503, health checks still 200")
    func connectionHygiene() async throws {
        let server = try await sidecar(port: 18_505, ["--max-connections", "20", "--idle-timeout", "2"])
        async let held = attack(["hold", "10.77.1.1", "18505", "30", "8"], in: network.client, timeout: 30)
        // While the 30 half-open connections are held: a new full request is over the cap.
        var over: ServeIntegrationTests.Server.Reply?
        for _ in 0..<40 {
            let reply = try await server.request("GET", "/v1/probes")
            if reply.status == 503 {
                over = reply
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(over?.body.contains("too_many_connections") == true, "\(over?.body ?? "never over the cap")")
        #expect(try await server.request("GET", "/healthz", token: false).status == 200, "health is served over the cap")
        let result = try await held
        #expect(result["opened"] as? Int == 30, "\(result)")
        #expect(result["closedByServer"] as? Int == 30, "every half-open connection was closed by the server: \(result)")
        #expect((result["firstClosed"] as? Double ?? 0) >= 1.5, "not before the idle timeout: \(result)")
        #expect((result["lastClosed"] as? Double ?? 99) < 6, "\(result)")
        #expect(try await server.request("GET", "/v1/probes").status == 200, "under the cap again")

        // A body that arrives a byte a second (from an authenticated caller) is cut off, with 408.
        let trickle = try await attack(
            ["trickle", "10.77.1.1", "18505", "/v1/probes/ping", "20", ServeIntegrationTests.token], in: network.client, timeout: 40)
        #expect((trickle["status"] as? String)?.hasPrefix("HTTP/1.1 408") == true, "\(trickle)")
        #expect((trickle["afterSeconds"] as? Double ?? 99) < 15, "\(trickle)")
        #expect(server.process.isRunning)
        #expect(await server.terminate() == 0)
    }

    @Test("ping's deadline cannot make the server send more than --max-count")
    func deadlineHonoursMaxCount() async throws {
        let server = try await sidecar(port: 18_506, ["--max-count", "5"])
        // 10.77.7.0/24 is black-holed in the router: no reply ever comes, so "count replies" would never be met.
        let reply = try await server.request(
            "POST", "/v1/probes/ping", body: #"{"target": "10.77.7.1", "count": 5, "deadline": 4, "interval": 0.1, "timeout": 0.3}"#
        )
        #expect(reply.status == 200, "\(reply.body)")
        let summary = reply.object["summary"] as? [String: Any] ?? [:]
        #expect(summary["transmitted"] as? Int == 5, "sent exactly the cap: \(reply.body)")
        #expect(summary["received"] as? Int == 0)
        #expect(await server.terminate() == 0)
    }

    @Test("IPv6 forms that carry an IPv4 address are judged by the IPv4 rules; a mapped --deny CIDR denies")
    func embeddedIPv4() async throws {
        let server = try await sidecar(port: 18_507, ["--deny", "::ffff:10.77.2.0/120"])
        // 169.254.169.254 (cloud metadata) written as NAT64, local-use NAT64, 6to4, SIIT, IPv4-compatible and Teredo.
        let metadata = [
            "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", "2002:a9fe:a9fe::1", "::ffff:0:a9fe:a9fe", "::a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:5601:5601",
        ]
        for target in metadata + ["10.77.2.2", "::ffff:10.77.2.2", "64:ff9b::a4d:202"] {
            let reply = try await server.request("GET", "/v1/probes/ping?target=\(target)&count=1")
            #expect(reply.status == 403, "\(target): \(reply.body)")
            #expect(reply.body.contains("target_denied"), "\(target): \(reply.body)")
        }
        #expect(try await server.request("GET", "/v1/probes/ping?target=fd00:77:2::2&count=1").status == 200)
        #expect(await server.terminate() == 0)
    }

    @Test("the legacy route refuses control characters and spaces that would forge ping's output")
    func legacyRouteTargets() async throws {
        let server = try await sidecar(port: 18_508)
        for forged in ["10.77.2.2%0A64%20bytes%20from%20evil", "10.77.2.2%00", "10.77.2.2%0D", "10.77.2.2%20x"] {
            let reply = try await server.request("GET", "/ping/\(forged)/1")
            #expect(reply.status == 400, "\(forged): \(reply.body)")
            #expect(reply.body.contains("invalid dstIP"), "\(reply.body)")
        }
        #expect(try await server.request("GET", "/ping/10.77.2.2/1").status == 200)
        #expect(await server.terminate() == 0)
    }

    @Test("without a token, requests a web page made (foreign Origin, Sec-Fetch-Site) are refused")
    func crossSite() async throws {
        let server = try await sidecar(port: 18_509, withToken: false)
        for header in ["Origin: http://attacker.example", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site", "Origin: null"] {
            let reply = try await server.request("GET", "/v1/probes/tcp?target=10.77.2.2:2222", token: false, headers: [header])
            #expect(reply.status == 403, "\(header): \(reply.body)")
            #expect(reply.body.contains("cross_site_refused"), "\(header): \(reply.body)")
        }
        let plain = try await server.request("GET", "/v1/probes/tcp?target=10.77.2.2:2222", token: false)
        #expect(plain.status == 200, "a program's request is served: \(plain.body)")
        let own = try await server.request("GET", "/v1/probes/tcp?target=10.77.2.2:2222", token: false, headers: ["Origin: http://127.0.0.1:18509"])
        #expect(own.status == 200, "the server's own origin is served: \(own.body)")
        #expect(await server.terminate() == 0)
    }

    @Test("the operator disables probes and parameters for the sidecar's callers, and separately for the gateway's")
    func restrictions() async throws {
        let unknown = try await Sonde.run(["serve", "--port", "18530", "--probes", "ping,nosuch"], in: network.client)
        #expect(unknown.status == 2, "\(unknown.error)")
        #expect(
            unknown.error.contains(
                "invalid value 'nosuch' for --probes: no such probe here (expected some of dns, grpc, http, mtr, ping, tcp, tracepath, traceroute, udp)"
            ),
            "\(unknown.error)")
        let gatewaySetting = try await Sonde.run(["gateway", "--agents", "10.77.1.0/24", "--deny-parameters", "send"], in: network.router)
        #expect(gatewaySetting.status == 2, "\(gatewaySetting.error)")
        #expect(gatewaySetting.error.contains("invalid value 'send' in --deny-parameters: expected KIND.NAME"), "\(gatewaySetting.error)")

        let server = try await sidecar(port: 18_531, ["--probes", "tcp,dns", "--deny-parameters", "tcp.send,tcp.expect"])
        let send = try await server.request("GET", "/v1/probes/tcp?target=127.0.0.1:1&send=PING")
        #expect(send.status == 403 && send.body.contains("parameter 'send' of tcp is disabled here (--deny-parameters tcp.send)"), "\(send.body)")
        let ping = try await server.request("GET", "/v1/probes/ping?target=127.0.0.1&count=1")
        #expect(ping.status == 403 && ping.body.contains("probe 'ping' is disabled here (--probes dns,tcp)"), "\(ping.body)")
        let legacy = try await server.request("GET", "/ping/127.0.0.1/1")
        #expect(legacy.status == 403, "\(legacy.body)")
        let plain = try await server.request("GET", "/v1/probes/tcp?target=127.0.0.1:1&count=1")
        #expect(plain.status == 200, "\(plain.body)")
        let listing = try await server.request("GET", "/v1/probes")
        let kinds = (listing.object["probes"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds == ["dns", "tcp"], "\(listing.body)")
        #expect(await server.terminate() == 0)
    }

    @Test("a peer at an agent address that is not a Sonde sidecar learns no credential, and nothing it says is relayed")
    func impostorAgents() async throws {
        // The real sidecar at 10.77.1.1 shares its token with the gateway; the impostor sits at 10.77.3.2.
        let sidecar = try ServeIntegrationTests.Server(namespace: network.client, port: 18_513, arguments: [], address: "10.77.1.1")
        try await sidecar.waitUntilServing()
        for (mode, port, secret) in [("upgrade", 18_511, "SECRET-PAYLOAD"), ("html", 18_512, "<script>")] {
            async let impostor = attack(["agent", String(port), mode, "6"], in: network.faults, timeout: 20)
            let gateway = try ServeIntegrationTests.Server(
                namespace: network.router, port: port + 10,
                arguments: [
                    "--host", "10.77.2.254", "--agents", "10.77.1.0/24,10.77.3.0/24", "--agent-port", String(port), "--connect-timeout", "1",
                    "--timeout", "5",
                ],
                command: "gateway", environment: ["SONDE_AGENT_TOKEN": ServeIntegrationTests.token], callerNamespace: network.echo,
                address: "10.77.2.254"
            )
            try await gateway.waitUntilServing()
            var reply = try await gateway.request("GET", "/v1/agents/10.77.3.2/probes/ping?target=10.77.2.2&count=1")
            for _ in 0..<20 where reply.body.contains("agent_unreachable") {
                try await Task.sleep(for: .milliseconds(100))
                reply = try await gateway.request("GET", "/v1/agents/10.77.3.2/probes/ping?target=10.77.2.2&count=1")
            }
            #expect(reply.status == 502, "\(mode): \(reply.status) \(reply.body)")
            #expect(reply.body.contains("agent_bad_response") && reply.body.contains("not a Sonde sidecar"), "\(mode): \(reply.body)")
            #expect(!reply.body.contains(secret), "\(mode): \(reply.body)")
            #expect(reply.headers.keys.allSatisfy { $0.lowercased() != "upgrade" }, "\(reply.headers)")
            #expect(await gateway.terminate() == 0)
            let seen = try await impostor
            let authorization = (seen["headers"] as? [String: String])?["authorization"] ?? ""
            #expect(authorization.hasPrefix("Sonde-HMAC-SHA256 t="), "the impostor got a signature: \(seen)")
            #expect(!authorization.contains(ServeIntegrationTests.token), "…and never the token: \(authorization)")
            // What it captured opens nothing at a real sidecar: the signature names the impostor's address.
            let target = seen["target"] as? String ?? ""
            #expect(target.hasPrefix("/v1/probes/ping?"), "\(seen)")
            let replay = try await sidecar.request(
                "GET", target, token: false, headers: ["Authorization: \(authorization)"]
            )
            #expect(replay.status == 401, "\(replay.body)")
            #expect(replay.body.contains("does not match this request to 10.77.1.1"), "\(replay.body)")
        }
        #expect(await sidecar.terminate() == 0)
    }
}
