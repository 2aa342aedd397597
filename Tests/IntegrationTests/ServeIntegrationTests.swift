import Foundation
import Testing

/// The real `sonde serve` binary, started as root in the client namespace, used over HTTP from inside that
/// namespace: pings to the echo namespace over IPv4 and IPv6, streaming, the policy after resolution,
/// every thread's privileges read from /proc while it serves, and a graceful SIGTERM.
@Suite("sonde serve, the real binary", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)), .serialized)
struct ServeIntegrationTests {
    let network: TestNetwork
    static let token = "integration-token-0123456789"

    init() async throws { network = try await TestNetwork.get() }

    /// A running `sonde serve` (or `sonde gateway`) and the way to talk to it.
    final class Server: @unchecked Sendable {
        let process: Process
        let port: Int
        let namespace: String
        /// Where requests come from, and the address they go to there.
        let callerNamespace: String
        let address: String
        let log = Collected()

        init(
            namespace: String, port: Int, arguments: [String], command: String = "serve", environment extra: [String: String] = [:],
            callerNamespace: String? = nil, address: String = "127.0.0.1", withToken: Bool = true
        ) throws {
            self.namespace = namespace
            self.port = port
            self.callerNamespace = callerNamespace ?? namespace
            self.address = address
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, Sonde.binary, command, "--port", String(port)] + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["SONDE_TOKEN"] = withToken ? ServeIntegrationTests.token : nil
            environment.merge(extra) { _, new in new }
            process.environment = environment
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            let log = self.log
            errors.fileHandleForReading.readabilityHandler = { log.append($0.availableData) }
            try process.run()
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        struct Reply {
            var status: Int
            var headers: [String: String]
            var lines: [(text: String, at: Double)]
            var body: String { lines.map(\.text).joined(separator: "\n") }
            var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
            var objects: [[String: Any]] {
                lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.text.utf8))) as? [String: Any] }
            }
        }

        func request(
            _ method: String, _ path: String, body: String? = nil, accept: String? = nil, token: Bool = true,
            bearer: String = ServeIntegrationTests.token,
            headers: [String] = []
        ) async throws -> Reply {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/http_client.py")
            var command = ["ip", "netns", "exec", callerNamespace, "python3", script.path, method, "http://\(address):\(port)\(path)"]
            if token { command += ["--header", "Authorization: Bearer \(bearer)"] }
            if let accept { command += ["--header", "Accept: \(accept)"] }
            for header in headers { command += ["--header", header] }
            if let body { command += ["--header", "Content-Type: application/json", "--body", body] }
            let result = try await Shell.captureAsync(command, timeout: 40)
            let json = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Any] ?? [:]
            let lines = (json["lines"] as? [[String: Any]] ?? []).map { ($0["text"] as? String ?? "", $0["at"] as? Double ?? -1) }
            return Reply(status: json["status"] as? Int ?? -1, headers: json["headers"] as? [String: String] ?? [:], lines: lines)
        }

        /// Waits (at most 10 s) until `/healthz` answers.
        func waitUntilServing() async throws {
            for _ in 0..<100 {
                if try await request("GET", "/healthz", token: false).status == 200 { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("sonde did not start: \(log.value)")
        }

        /// SIGTERM, then the exit status (at most `timeout` seconds later).
        func terminate(timeout: Double = 30) async -> Int32? {
            kill(process.processIdentifier, SIGTERM)
            let process = self.process
            return await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    let deadline = Date().addingTimeInterval(timeout)
                    while process.isRunning, Date() < deadline { usleep(20_000) }
                    continuation.resume(returning: process.isRunning ? nil : process.terminationStatus)
                }
            }
        }
    }

    @Test("pings over IPv4 and IPv6 through the API, every thread holding only CAP_NET_RAW as nobody")
    func pingsWithLeastPrivilege() async throws {
        let server = try Server(namespace: network.client, port: 18_301, arguments: [])
        try await server.waitUntilServing()
        // Requests first, so the listener, event loops and pool threads all exist when /proc is read.
        async let v4 = server.request("POST", "/v1/probes/ping", body: #"{"target": "10.77.2.2", "count": 3, "interval": 0.2}"#)
        async let v6 = server.request("POST", "/v1/probes/ping", body: #"{"target": "fd00:77:2::2", "count": 3, "interval": 0.2}"#)
        for reply in try await [v4, v6] {
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.object["success"] as? Bool == true)
            #expect((reply.object["summary"] as? [String: Any])?["received"] as? Int == 3, "\(reply.body)")
        }

        let pid = server.process.processIdentifier
        let threads = try ProcessStatus.threads(of: pid)
        #expect(threads.count > 2, "the server's threads exist")
        for (task, fields) in threads {
            let name = fields["Name"] ?? task
            #expect(fields["Uid"]?.split(separator: "\t").allSatisfy { $0 == "65534" } == true, "\(name): Uid \(fields["Uid"] ?? "")")
            #expect(fields["Gid"]?.split(separator: "\t").allSatisfy { $0 == "65534" } == true, "\(name): Gid \(fields["Gid"] ?? "")")
            for set in ["CapEff", "CapPrm", "CapBnd"] {
                #expect(fields[set] == "0000000000002000", "\(name): \(set) \(fields[set] ?? "")")
            }
            #expect(fields["CapInh"] == "0000000000000000", "\(name)")
            #expect(fields["CapAmb"] == "0000000000000000", "\(name)")
            #expect(fields["NoNewPrivs"] == "1", "\(name)")
        }
        // Still pinging after all threads exist, and the agent reports the same from inside.
        let again = try await server.request("GET", "/v1/probes/ping?target=fd00:77:2::2&count=2&interval=0.2")
        #expect((again.object["summary"] as? [String: Any])?["received"] as? Int == 2, "\(again.body)")
        let status = try await server.request("GET", "/v1/status")
        let process = status.object["process"] as? [String: Any] ?? [:]
        #expect(process["uid"] as? Int == 65534)
        #expect(process["capEff"] as? String == "0000000000002000")
        #expect(process["noNewPrivs"] as? Bool == true)
        #expect(process["icmpSockets"] as? String == "ipv4=raw ipv6=raw")
        #expect(server.log.value.contains("privileges=\"uid=65534 gid=65534 effective=cap_net_raw permitted=cap_net_raw bounding=cap_net_raw"))
        #expect(await server.terminate() == 0)
    }

    @Test("streams each reply as it arrives; the legacy route reads like ping; a name resolving into a denied network is refused")
    func streamingAndPolicy() async throws {
        let server = try Server(namespace: network.client, port: 18_302, arguments: ["--deny", "10.77.2.7/32,fd00:77:2::7/128"])
        try await server.waitUntilServing()
        let stream = try await server.request("GET", "/v1/probes/ping?target=10.77.2.2&count=4&interval=0.4", accept: "application/x-ndjson")
        #expect(stream.status == 200)
        let replies = zip(stream.objects, stream.lines).filter { $0.0["type"] as? String == "reply" }.map(\.1.at)
        #expect(replies.count == 4, "\(stream.body)")
        if let first = replies.first, let last = replies.last {
            #expect(last - first > 0.8, "replies arrived at \(replies): streamed, not buffered")
        }
        #expect(stream.objects.last?["type"] as? String == "report")

        let legacy = try await server.request("GET", "/ping/10.77.2.2/2")
        #expect(legacy.status == 200)
        #expect(legacy.body.hasPrefix("PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data."))
        #expect(legacy.body.contains("2 packets transmitted, 2 received, 0% packet loss"))

        // www.test is 10.77.2.7 and fd00:77:2::7 in the namespace's DNS server: the name is fine, its addresses are denied.
        let rebound = try await server.request("GET", "/v1/probes/ping?target=www.test&count=1")
        #expect(rebound.status == 403)
        #expect(rebound.body.contains("target 'www.test' (resolved to "), "\(rebound.body)")
        #expect(await server.terminate() == 0)
    }

    @Test("SIGTERM: in-flight probes finish and report, then the process exits 0")
    func gracefulShutdown() async throws {
        let server = try Server(namespace: network.client, port: 18_303, arguments: ["--shutdown-grace", "10"])
        try await server.waitUntilServing()
        // 4.5 s of probe: each status poll below starts a Python client, which a loaded machine makes slow.
        async let inFlight = server.request("GET", "/v1/probes/ping?target=10.77.2.2&count=10&interval=0.5", accept: "application/x-ndjson")
        // SIGTERM once the probe is seen running, not after a guessed delay.
        var running = false
        for _ in 0..<100 where !running {
            running = try await server.request("GET", "/v1/status").object["runningProbes"] as? Int == 1
            if !running { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(running, "the probe was in flight when SIGTERM was sent")
        let status = await server.terminate()
        let reply = try await inFlight
        #expect(status == 0, "\(server.log.value)")
        #expect(reply.status == 200)
        let report = reply.objects.last
        #expect(report?["type"] as? String == "report")
        #expect((report?["summary"] as? [String: Any])?["transmitted"] as? Int == 10, "the run finished rather than being cut: \(reply.body)")
        #expect(server.log.value.contains("stopped"))
    }

    @Test("SIGHUP re-reads the modules file as the dropped user: a good file replaces, a bad or unreadable one is refused and kept; secrets masked")
    func reloadOnHangup() async throws {
        let folder = "/tmp/sonde-hup-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/blackbox.yml"
        func write(_ text: String, mode: Int = 0o644) throws {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        }
        try write(
            """
            modules:
              web:
                prober: http
                http:
                  basic_auth: {username: probe, password: s3cret-pass}
                  headers: {X-Api-Key: key-123, Accept: text/plain}
            """)
        let server = try Server(namespace: network.client, port: 18_307, arguments: ["--modules", file])
        try await server.waitUntilServing()

        let config = try await server.request("GET", "/config")
        #expect(config.status == 200)
        #expect(config.body.contains(#""Authorization: <secret>""#), "\(config.body)")
        #expect(config.body.contains(#""X-Api-Key: <secret>""#), "\(config.body)")
        #expect(config.body.contains(#""Accept: text/plain""#), "\(config.body)")
        let debug = try await server.request("GET", "/probe?module=web&target=http://10.77.2.2/&debug=true")
        #expect(debug.body.contains("probe_success 1"), "\(debug.body)")
        #expect(debug.body.contains(#""Authorization: <secret>""#), "\(debug.body)")
        let credentials = Data("probe:s3cret-pass".utf8).base64EncodedString()
        for secret in ["s3cret-pass", credentials, "key-123"] {
            #expect(!config.body.contains(secret) && !debug.body.contains(secret), "\(secret) shown: \(debug.body)")
        }

        /// Sends SIGHUP and waits (at most 10 s) until `/metrics` shows `successful`.
        func hangUp(expecting successful: Int) async throws -> Bool {
            func reloads() -> Int { server.log.value.components(separatedBy: "modules reload").count - 1 }
            let before = reloads()
            kill(server.process.processIdentifier, SIGHUP)
            for _ in 0..<50 {
                let metrics = try await server.request("GET", "/metrics").body
                if reloads() > before, metrics.contains("sonde_config_last_reload_successful \(successful).0") { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        try write("modules:\n  tcp_only:\n    prober: tcp\n")
        #expect(try await hangUp(expecting: 1), "\(server.log.value)")
        #expect(try await server.request("GET", "/config").body.contains("  tcp_only:\n    probe: tcp\n"))
        #expect(try await server.request("GET", "/probe?module=web&target=10.77.2.2").status == 400)

        try write("modules:\n  tcp_only:\n    prober: tcp\n    tcp: {colour: red}\n")
        #expect(try await hangUp(expecting: 0), "\(server.log.value)")
        #expect(server.log.value.contains("modules reload failed; the loaded modules stay"), "\(server.log.value)")
        #expect(server.log.value.contains("line 4: unknown key tcp.colour"), "\(server.log.value)")
        let kept = try await server.request("GET", "/probe?module=tcp_only&target=10.77.2.2:80")
        #expect(kept.body.contains("probe_success 1"), "\(kept.body)")

        // Readable by root only: the sidecar, now nobody, cannot re-read it, and says so.
        try write("modules:\n  tcp_root:\n    prober: tcp\n", mode: 0o600)
        let post = try await server.request("POST", "/-/reload")
        #expect(post.status == 500)
        #expect(post.body.contains("cannot read the modules file \(file) (read as uid 65534): Permission denied"), "\(post.body)")
        #expect(await server.terminate() == 0, "SIGHUP did not end the process: \(server.log.value)")
    }
}
