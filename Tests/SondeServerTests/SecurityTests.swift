import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SondeCore
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// Authentication, the target policy (after resolution), limits and draining.
@Suite("HTTP API: authentication, target policy, limits, shutdown")
struct SecurityTests {
    @Test("a bearer token guards everything but health", arguments: [TestingSetup.router, .live])
    func authentication(_ setup: TestingSetup) async throws {
        try await TestServer.application(try TestServer.make()).test(setup) { client in
            for uri in ["/v1/probes", "/openapi.json", "/v1/status", "/v1/probes/tcp?target=127.0.0.1:1", "/ping/127.0.0.1/1"] {
                let missing = try await client.execute(uri: uri, method: .get)
                #expect(missing.status == .unauthorized, "\(uri)")
                #expect(missing.errorCode == "unauthorized")
                #expect(missing.headers[.wwwAuthenticate] == #"Bearer realm="sonde""#)
                let wrong = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer test-token-0123456789abcdeX"])
                #expect(wrong.status == .unauthorized, "\(uri)")
                #expect(wrong.errorMessage == "invalid bearer token")
                let prefix = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer test-token-0123456789abcde"])
                #expect(prefix.status == .unauthorized, "a prefix of the token is refused: \(uri)")
            }
            for uri in ["/healthz", "/readyz"] {
                #expect(try await client.execute(uri: uri, method: .get).status == .ok, "\(uri)")
            }
            #expect(try await client.execute(uri: "/v1/probes", method: .get, headers: [.authorization: "bearer \(TestServer.token)"]).status == .ok)
        }
    }

    @Test("the compatibility route can be opened alone; policy still applies to it")
    func legacyWithoutToken() async throws {
        let server = try TestServer.make {
            $0.legacyPingWithoutToken = true
            $0.policy.deny.append(.init(IPNetwork("127.0.0.0/8")!))
        }
        try await TestServer.application(server).test(.router) { client in
            let ping = try await client.execute(uri: "/ping/127.0.0.1/1", method: .get)
            #expect(ping.status == .forbidden)
            #expect(ping.errorCode == "target_denied")
            #expect(try await client.execute(uri: "/v1/probes", method: .get).status == .unauthorized)
        }
    }

    @Test("without a token only localhost and IP literals may be the Host (DNS rebinding of the API)")
    func hostCheckWithoutToken() async throws {
        let server = try TestServer.make { $0.listener.token = nil }
        try await TestServer.application(server).test(.live) { client in
            let rebound = try await RawHTTP.get(port: client.port, "/v1/probes", host: "attacker.example:8090")
            #expect(rebound.status == 403)
            #expect(rebound.body.contains("\"host_not_allowed\""))
            for host in ["localhost:8090", "127.0.0.1:8090", "[::1]:8090"] {
                let local = try await RawHTTP.get(port: client.port, "/v1/probes", host: host)
                #expect(local.status == 200, "\(host)")
            }
        }
    }

    @Test("a request head over the limits is a JSON 431 naming them (send long values in a body); not HTTP is a JSON 400")
    func oversizedRequestHead() async throws {
        try await TestServer.application(try TestServer.make()).test(.live) { client in
            let long = try await RawHTTP.get(port: client.port, "/v1/probes/tcp?target=127.0.0.1:9&send=" + String(repeating: "a", count: 9000))
            #expect(long.status == 431 && long.headers["content-type"] == "application/json", "\(long.status) \(long.body)")
            #expect(long.body.contains(#""code":"request_too_large""#) && long.body.contains("POST body"), "\(long.body)")
            let header = try await RawHTTP.get(port: client.port, "/healthz", headers: ["X-Big": String(repeating: "b", count: 9000)])
            #expect(header.status == 431, "\(header.body)")
            let garbage = try await RawHTTP.get(port: client.port, "/healthz junk\u{01}")
            #expect(garbage.status == 400 && garbage.body.contains(#""code":"malformed_request""#), "\(garbage.status) \(garbage.body)")
            // The listener still answers.
            #expect(try await RawHTTP.get(port: client.port, "/healthz").status == 200)
        }
    }

    @Test("the policy is checked on the resolved address: names, mapped IPv6 and allow lists")
    func policy() async throws {
        let listener = try LoopbackListener()
        let server = try TestServer.make { $0.policy.deny.append(.init(IPNetwork("127.0.0.0/8")!, reason: "loopback")) }
        try await TestServer.application(server).test(.router) { client in
            for target in [
                "169.254.169.254:80", "localhost:\(listener.port)", "[::ffff:127.0.0.1]:\(listener.port)", "127.0.0.1:\(listener.port)",
                "0.0.0.0:\(listener.port)",
            ] {
                let response = try await client.execute(uri: "/v1/probes/tcp?target=\(target)&count=1", method: .get, headers: TestServer.authorized)
                #expect(response.status == .forbidden, "\(target)")
                #expect(response.errorCode == "target_denied", "\(target)")
            }
            let named = try await client.execute(
                uri: "/v1/probes/tcp?target=localhost:\(listener.port)", method: .get, headers: TestServer.authorized)
            #expect(
                named.errorMessage
                    == "target 'localhost' (resolved to 127.0.0.1) is denied by this server's policy: it is in the denied network 127.0.0.0/8 (loopback)"
            )
            // The DNS probe's server is a target too.
            let dns = try await client.execute(
                uri: "/v1/probes/dns?target=example.test&server=127.0.0.53", method: .get, headers: TestServer.authorized)
            #expect(dns.status == .forbidden)
        }
        let allowList = try TestServer.make { $0.policy.allow = [.init(IPNetwork("10.0.0.0/8")!)] }
        try await TestServer.application(allowList).test(.router) { client in
            let outside = try await client.execute(
                uri: "/v1/probes/tcp?target=127.0.0.1:\(listener.port)", method: .get, headers: TestServer.authorized)
            #expect(outside.status == .forbidden)
            #expect(outside.errorMessage.contains("not in the allow list (10.0.0.0/8)"))
        }
    }

    @Test("over the concurrency limit a caller gets 429 with Retry-After, and the slot frees when the probe ends")
    func concurrencyLimit() async throws {
        let listener = try LoopbackListener()
        let server = try TestServer.make { $0.limits.maxConcurrentPerClient = 1 }
        try await TestServer.application(server).test(.live) { client in
            // Holds its slot for about 2 s: five attempts 0.5 s apart.
            async let long = client.execute(
                uri: "/v1/probes/tcp?target=127.0.0.1:\(listener.port)&count=5&interval=0.5", method: .get, headers: TestServer.authorized)
            for _ in 0..<100 where server.runningProbes == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.runningProbes == 1)
            let refused = try await RawHTTP.get(
                port: client.port, "/v1/probes/tcp?target=127.0.0.1:\(listener.port)&count=1",
                headers: ["Authorization": "Bearer \(TestServer.token)"])
            #expect(refused.status == 429)
            #expect(refused.headers["retry-after"] == "1")
            #expect(refused.body.contains("\"over_limit\""))
            #expect(try await long.status == .ok)
            for _ in 0..<100 where server.runningProbes > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.runningProbes == 0)
            let again = try await client.execute(
                uri: "/v1/probes/tcp?target=127.0.0.1:\(listener.port)&count=1", method: .get, headers: TestServer.authorized)
            #expect(again.status == .ok)
        }
    }

    @Test("once draining, new requests get 503 and readiness fails; liveness stays up")
    func draining() async throws {
        let server = try TestServer.make()
        try await TestServer.application(server).test(.router) { client in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            server.state.beginDraining()
            let probe = try await client.execute(uri: "/v1/probes", method: .get, headers: TestServer.authorized)
            #expect(probe.status == .serviceUnavailable)
            #expect(probe.errorCode == "shutting_down")
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
