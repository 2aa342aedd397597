import Foundation
import Testing

/// `sonde grpc` against grpcio's own health server (the reference implementation, from PyPI) in the echo namespace,
/// plaintext and TLS, and against what is not a gRPC server: nginx over HTTP/1.1 and over HTTP/2, an SSH banner,
/// a silent port, a closed one; then the same over the sidecar's API.
@Suite("gRPC health against grpcio's server", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct GRPCIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func grpc(_ arguments: [String]) async throws -> Sonde.Run {
        try await Sonde.run(["grpc"] + arguments, in: network.client)
    }

    @Test("SERVING over plaintext HTTP/2, IPv4 and IPv6, the whole server and one service; text as ping users read it")
    func serving() async throws {
        let v4 = try await grpc(["--json", "-c", "3", "-i", "0.1", "10.77.2.2:50051"])
        #expect(v4.status == 0, "\(v4.output) \(v4.error)")
        let checks = v4.events("check")
        #expect(checks.count == 3)
        #expect(checks.allSatisfy { $0["servingStatus"] as? String == "SERVING" && $0["code"] as? Int == 0 }, "\(checks)")
        #expect(v4.count("serving") == 3)
        #expect((v4.summary["check"] as? [String: Any])?["samples"] as? Int == 3)

        let v6 = try await grpc(["--service", "shop", "[fd00:77:2::2]:50051"])
        #expect(v6.status == 0, "\(v6.output) \(v6.error)")
        let lines = v6.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "GRPC health [fd00:77:2::2]:50051 ([fd00:77:2::2]:50051, plaintext HTTP/2): service \"shop\"")
        #expect(lines.dropFirst().first?.hasPrefix("SERVING from [fd00:77:2::2]:50051: seq=1 time=") == true, "\(v6.output)")
        #expect(v6.output.contains("--- [fd00:77:2::2]:50051 grpc health statistics ---\n1 checks, 1 serving, 0% failed"), "\(v6.output)")
    }

    @Test("NOT_SERVING and an unknown service are the server's answers: exit 1, the status named")
    func notServing() async throws {
        let down = try await grpc(["--json", "--service", "down", "10.77.2.2:50051"])
        #expect(down.status == 1)
        let check = down.events("check").first
        #expect(check?["outcome"] as? String == "not_serving")
        #expect(check?["servingStatus"] as? String == "NOT_SERVING")
        let unknown = try await grpc(["--service", "nosuch", "10.77.2.2:50051"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("NOT_FOUND (5) from 10.77.2.2:50051: seq=1"), "\(unknown.output)")
    }

    @Test("TLS: the chain shown and judged; trusted with --cacert, refused without, looked at with -k")
    func tls() async throws {
        let trusted = try await grpc(["--json", "--tls", "--cacert", network.certificateRoot, "--servername", "shop.test", "10.77.2.2:50052"])
        #expect(trusted.status == 0, "\(trusted.output) \(trusted.error)")
        let facts = trusted.events("check").first?["tlsFacts"] as? [String: Any]
        #expect(facts?["alpn"] as? String == "h2")
        #expect((facts?["problems"] as? [Any])?.isEmpty == true, "\(facts ?? [:])")
        // https:// is TLS; the leaf names 10.77.2.2 too.
        let byAddress = try await grpc(["--cacert", network.certificateRoot, "https://10.77.2.2:50052"])
        #expect(byAddress.status == 0, "\(byAddress.output)")
        #expect(byAddress.output.contains("* verified:"), "\(byAddress.output)")

        let untrusted = try await grpc(["--json", "--tls", "10.77.2.2:50052"])
        #expect(untrusted.status == 1)
        #expect(untrusted.events("check").first?["outcome"] as? String == "tls", "\(untrusted.output)")
        let insecure = try await grpc(["-k", "--tls", "10.77.2.2:50052"])
        #expect(insecure.status == 0, "\(insecure.output)")
        #expect(insecure.output.contains("not trusted (going on: -k)"), "\(insecure.output)")
    }

    @Test("what is not a gRPC health server is named, with the gRPC status a client would give")
    func notGRPC() async throws {
        let cases: [(arguments: [String], outcome: String, code: Int, words: String)] = [
            (["10.77.2.2:50099"], "refused", 14, "connection refused by 10.77.2.2:50099"),
            (["-m", "0.5", "10.77.2.2:7777"], "timeout", 4, "within the timeout (-m/--max-time)"),
            (["10.77.2.2:2222"], "bad_response", 14, "the answer is not HTTP/2"),
            (["10.77.2.2:80"], "bad_response", 14, "the answer is not HTTP/2"),
            (
                ["--tls", "--cacert", network.certificateRoot, "--servername", "shop.test", "10.77.2.2:8443"], "bad_response", 14,
                "does not speak HTTP/2 (h2 by ALPN)"
            ),
            (["--tls", "--cacert", network.certificateRoot, "--servername", "shop.test", "10.77.2.2:8451"], "bad_response", 12, "HTTP status 404"),
            (["--tls", "10.77.2.2:50051"], "tls", 14, "TLS handshake failed"),
        ]
        for (arguments, outcome, code, words) in cases {
            let run = try await grpc(["--json"] + arguments)
            let check = run.events("check").first
            let shown = "\(arguments): \(check ?? [:])"
            #expect(run.status == 1, "\(shown)")
            #expect(check?["outcome"] as? String == outcome, "\(shown)")
            #expect(check?["code"] as? Int == code, "\(shown)")
            #expect((check?["message"] as? String)?.contains(words) == true, "\(shown)")
        }
    }

    @Test("bad input: one line naming the value and what is allowed, exit 2")
    func badInput() async throws {
        let cases: [([String], String)] = [
            (["10.77.2.2:50051/grpc.health.v1.Health/Check"], "the health check's path is fixed"),
            (["fd00:77:2::2"], "write an IPv6 address in brackets"),
            (["-H", "te: deflate", "10.77.2.2:50051"], "which the probe sets itself"),
            (["--servername", "10.77.2.2", "--tls", "10.77.2.2:50052"], "a DNS name (SNI carries no address)"),
            (["-c", "0", "10.77.2.2:50051"], "count"),
        ]
        for (arguments, message) in cases {
            let run = try await grpc(arguments)
            #expect(run.status == 2, "\(arguments): \(run.error)")
            #expect(run.error.contains(message), "\(arguments): \(run.error)")
            #expect(run.error.split(separator: "\n").count == 1, "\(arguments): one line: \(run.error)")
        }
    }

    @Test("over the sidecar's API: the report and the stream; --cacert refused, metadata masked in the report")
    func api() async throws {
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_308, arguments: [])
        try await server.waitUntilServing()
        let report = try await server.request(
            "POST", "/v1/probes/grpc", body: #"{"target": "10.77.2.2:50051", "service": "shop", "header": ["Authorization: Bearer s3cret"]}"#)
        #expect(report.status == 200, "\(report.body)")
        #expect(report.object["success"] as? Bool == true, "\(report.body)")
        #expect(!report.body.contains("s3cret"), "\(report.body)")
        let stream = try await server.request("GET", "/v1/probes/grpc?target=10.77.2.2:50051&count=2&interval=0.2", accept: "application/x-ndjson")
        #expect(stream.objects.map { $0["type"] as? String ?? "" } == ["start", "check", "check", "report"], "\(stream.body)")
        let file = try await server.request("POST", "/v1/probes/grpc", body: #"{"target": "10.77.2.2:50052", "tls": true, "cacert": "/etc/passwd"}"#)
        #expect(file.status == 400, "\(file.body)")
        #expect(await server.terminate() == 0)
    }
}
