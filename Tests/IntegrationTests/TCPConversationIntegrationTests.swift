import Foundation
import Testing

/// `sonde tcp --tls` and blackbox's query_response steps against real servers in the echo namespace: nginx's stream
/// module (a banner over TLS), nginx's mail module (IMAP with STARTTLS) and an IRC-like responder whose PING token
/// must be captured and sent back (see `TestNetwork`).
@Suite("sonde tcp: TLS and query_response steps", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct TCPConversationIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func tcp(_ arguments: String...) async throws -> Sonde.Run {
        try await Sonde.run(["tcp", "--json", "--read-timeout", "2"] + arguments, in: network.client)
    }

    func attempt(_ run: Sonde.Run) -> [String: Any] { run.events("attempt").first ?? [:] }

    func subjects(_ chain: Any?) -> [String] { (chain as? [[String: Any]] ?? []).compactMap { $0["subject"] as? String } }

    @Test("--tls: the handshake, the chain verified against --cacert, the banner read over TLS")
    func tlsBanner() async throws {
        let run = try await tcp("--tls", "--cacert", network.testRootCA, "--servername", "shop.test", "--banner", "10.77.2.2:9993")
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let event = attempt(run)
        let tls = try #require(event["tls"] as? [String: Any], "\(run.output)")
        #expect(tls["version"] as? String == "TLSv1.3" && tls["serverName"] as? String == "shop.test")
        #expect((tls["problems"] as? [String]) == [], "\(tls)")
        #expect(subjects(tls["verified"]) == ["CN=shop.test", "CN=Sonde Test Intermediate", "CN=Sonde Test Root"])
        #expect(event["banner"] as? String == "* OK sonde TLS banner" && (event["tlsMs"] as? Double ?? 0) > 0, "\(event)")

        let text = try await Sonde.run(
            ["tcp", "--tls", "--cacert", network.testRootCA, "--servername", "shop.test", "10.77.2.2:9993"], in: network.client)
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("Connected to 10.77.2.2:9993: seq=1 time=") == true, "\(text.output)")
        #expect(lines.contains { $0.hasPrefix("  * TLSv1.3, ALPN none, SNI shop.test (handshake ") }, "\(text.output)")
        #expect(lines.contains("  * verified: CN=shop.test → CN=Sonde Test Intermediate → CN=Sonde Test Root"), "\(text.output)")
    }

    @Test("--tls with an untrusted chain: the attempt fails saying why; -k goes on and still says it")
    func untrusted() async throws {
        let refused = try await tcp("--tls", "--banner", "10.77.2.2:9993")
        #expect(refused.status == 1, "\(refused.output)")
        let failure = attempt(refused)["failure"] as? String ?? ""
        #expect(failure.contains("the certificate is not trusted: unknown issuer"), "\(refused.output)")
        #expect(attempt(refused)["banner"] == nil, "nothing is read from a server that is not trusted")
        #expect(refused.count("expectFailures") == 1)

        let insecure = try await tcp("--tls", "-k", "--banner", "10.77.2.2:9993")
        #expect(insecure.status == 0 && attempt(insecure)["banner"] as? String == "* OK sonde TLS banner", "\(insecure.output)")
        let problems = (attempt(insecure)["tls"] as? [String: Any])?["problems"] as? [String] ?? []
        #expect(problems.contains { $0.hasPrefix("unknown issuer") }, "\(problems)")

        // Not TLS at all: the SSH banner server.
        let plain = try await tcp("--tls", "-k", "10.77.2.2:2222")
        #expect(plain.status == 1 && (attempt(plain)["failure"] as? String)?.contains("the TLS handshake failed") == true, "\(plain.output)")
    }

    @Test("query_response: IMAP's greeting, STARTTLS, then a command answered over TLS (nginx's mail module)")
    func startTLS() async throws {
        let run = try await tcp(
            "--cacert", network.testRootCA, "--servername", "shop.test",
            "--step", #"expect:^\* OK"#, "--step", "send:a1 STARTTLS", "--step", "expect:^a1 OK", "--step", "starttls",
            "--step", "send:a2 CAPABILITY", "--step", "expect:^a2 OK", "10.77.2.2:143")
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let steps = attempt(run)["steps"] as? [[String: Any]] ?? []
        #expect(steps.map { $0["step"] as? String ?? "" } == ["expect", "send", "expect", "starttls", "send", "expect"], "\(steps)")
        #expect(steps.allSatisfy { $0["ok"] as? Bool == true }, "\(steps)")
        #expect((steps.last?["received"] as? String)?.hasPrefix("a2 OK") == true, "\(steps)")
        #expect((attempt(run)["tls"] as? [String: Any])?["version"] as? String == "TLSv1.3")
    }

    @Test("query_response: a capture of one expect is sent back by the next send (${1}); a wrong answer fails by regex")
    func capture() async throws {
        let run = try await tcp("--step", #"expect:^PING :(\w+)"#, "--step", "send:PONG ${1}", "--step", "expect:^001 ", "10.77.2.2:6667")
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let steps = attempt(run)["steps"] as? [[String: Any]] ?? []
        let token = (steps.first?["received"] as? String)?.split(separator: ":").last.map(String.init) ?? "?"
        #expect(steps.count == 3 && steps[1]["text"] as? String == "PONG \(token)\\n", "\(steps)")
        #expect(run.summary["failedDueToRegex"] as? Bool == false)

        let wrong = try await tcp("--step", "expect:^PING", "--step", "send:PONG nothing", "--step", "expect:^001 ", "10.77.2.2:6667")
        #expect(wrong.status == 1, "\(wrong.output)")
        #expect(wrong.summary["failedDueToRegex"] as? Bool == true)
        let last = (attempt(wrong)["steps"] as? [[String: Any]])?.last
        #expect(last?["ok"] as? Bool == false && last?["received"] as? String == "ERROR :wrong token", "\(wrong.output)")
        #expect((attempt(wrong)["failure"] as? String)?.hasPrefix("no line matched /^001 /") == true, "\(wrong.output)")

        // A server that says nothing: the expect times out, naming it.
        let silent = try await tcp("--read-timeout", "0.3", "--step", "expect:^hello", "10.77.2.2:7777")
        #expect(silent.status == 1 && (attempt(silent)["failure"] as? String)?.contains("timed out") == true, "\(silent.output)")
    }

    @Test("expect-bytes reads exactly its bytes (other bytes fail by bytes, not regex); label: puts an expect's group in the summary")
    func expectBytesAndLabels() async throws {
        let exact = try await tcp("--step", "expect-bytes:SSH-2.0-", "--step", "expect:^Sonde", "10.77.2.2:2222")
        #expect(exact.status == 0, "the next expect reads the rest of the line, after the bytes taken: \(exact.output)")
        let matched = try await tcp("--step", "expect-bytes:SSH-2.0-", "--step", "send:hi", "--step", "expect:^pong", "10.77.2.2:2222")
        #expect(matched.status == 0 && matched.summary["failedDueToBytes"] as? Bool == false, "\(matched.output) \(matched.error)")
        let steps = attempt(matched)["steps"] as? [[String: Any]] ?? []
        #expect(steps.first?["step"] as? String == "expect-bytes" && steps.first?["received"] as? String == "SSH-2.0-", "\(steps)")

        let other = try await tcp("--step", "expect-bytes:SSH-1.99", "10.77.2.2:2222")
        #expect(other.status == 1 && other.summary["failedDueToBytes"] as? Bool == true, "\(other.output)")
        #expect(other.summary["failedDueToRegex"] as? Bool == false)
        #expect((attempt(other)["failure"] as? String)?.contains("not the ones expected") == true, "\(other.output)")
        // Fewer bytes than expected before the server stops talking: a failure, not a bytes mismatch.
        let short = try await tcp("--read-timeout", "0.3", "--step", "expect-bytes:x", "10.77.2.2:7777")
        #expect(short.status == 1 && short.summary["failedDueToBytes"] as? Bool == false, "\(short.output)")
        #expect((attempt(short)["failure"] as? String)?.hasPrefix("read 0 of the 1 bytes expected (timed out)") == true, "\(short.output)")

        let labelled = try await tcp(
            "--step", #"expect:^PING :(\w+)"#, "--step", "label:token=${1}", "--step", "label:kind=irc", "--step", "send:PONG ${1}",
            "--step", "expect:^001 ", "10.77.2.2:6667")
        #expect(labelled.status == 0, "\(labelled.output) \(labelled.error)")
        let sent = (attempt(labelled)["steps"] as? [[String: Any]])?[1]["text"] as? String ?? "?"
        let token = String(sent.dropFirst("PONG ".count).dropLast(2))
        #expect(token.count > 4)
        #expect(labelled.summary["expectLabels"] as? [[String: String]] == [["token": token, "kind": "irc"]], "\(labelled.output)")
    }

    @Test(
        "bad steps and TLS options: one line naming the value and what is allowed, exit 2",
        arguments: [
            (["--step", "recv:x"], "invalid value 'recv:x' for --step"),
            (["--step", "expect:("], "expect:REGEX with an RE2 regular expression"),
            (["--step", "send:x", "--banner"], "invalid value 'true' for -b/--banner: expected nothing with --step"),
            (["--step", "label:a=b"], "label:NAME=VALUE right after an expect:REGEX step"),
            (["--step", "expect:x", "--step", "label:__name__=b"], "invalid value 'label:__name__=b' for --step"),
            (["--tls", "--cert", "/tmp/none.pem"], "--key"),
            (["--tls", "--cacert", "/nonexistent.pem"], "invalid value '/nonexistent.pem' for --cacert"),
        ])
    func badInput(arguments: [String], message: String) async throws {
        let run = try await Sonde.run(["tcp"] + arguments + ["10.77.2.2:9993"], in: network.client)
        #expect(run.status == 2, "\(run.output) \(run.error)")
        #expect(run.error.contains(message) && run.error.split(separator: "\n").count == 1, "\(run.error)")
    }

    @Test("over the API: steps in a JSON list, the TLS report; no file named; the pod's loopback gets no steps")
    func api() async throws {
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_312, arguments: [])
        try await server.waitUntilServing()
        let listed = try await server.request(
            "POST", "/v1/probes/tcp",
            body: #"{"target": "10.77.2.2:6667", "step": ["expect:^PING :(\\w+)", "send:PONG ${1}", "expect:^001 "]}"#)
        #expect(listed.status == 200 && listed.object["success"] as? Bool == true, "\(listed.body)")
        let tls = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "10.77.2.2:9993", "tls": true, "insecure": true}"#)
        let summary = tls.object["summary"] as? [String: Any] ?? [:]
        #expect(tls.status == 200 && (summary["tls"] as? [String: Any])?["version"] as? String == "TLSv1.3", "\(tls.body)")
        let named = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "10.77.2.2:9993", "tls": true, "cacert": "/etc/passwd"}"#)
        #expect(named.status == 400 && named.body.contains("a sidecar reads no file a caller names"), "\(named.body)")
        let local = try await server.request("POST", "/v1/probes/tcp", body: #"{"target": "127.0.0.1:18312", "step": ["send:GET /"]}"#)
        #expect(local.status == 403 && local.body.contains("target_denied"), "\(local.body)")
        let metrics = try await server.request("GET", "/probe?module=tcp_connect&target=10.77.2.2:9993")
        #expect(metrics.status == 200 && metrics.body.contains("probe_success 1"), "\(metrics.body)")
        _ = await server.terminate()
    }
}
