import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SondeCore
import SondeGateway
import SondeHTTP
import SondeServerTestSupport
import Testing

/// The gateway's own `--probes` and `--deny-parameters`, for its callers, whatever the sidecar allows.
@Suite("gateway probe and parameter restrictions")
struct GatewayRestrictionsTests {
    @Test("the gateway has restrictions of its own for its callers, whatever the sidecar allows")
    func gateway() async throws {
        try await TestServer.application(try TestServer.make()).test(.live) { sidecar in
            var configuration = try GatewayTests.configuration(agentPort: sidecar.port ?? 0, agentToken: TestServer.token, agents: "127.0.0.0/8")
            configuration.listener.restrictions = try ProbeRestrictions.parsing(probes: "tcp", deny: "tcp.send")
            var logger = Logger(label: "gateway-test")
            logger.logLevel = .error
            try await SondeGateway(configuration: configuration, version: "test").makeApplication(logger: logger).test(.router) { client in
                let dns = try await client.execute(
                    uri: "/v1/agents/127.0.0.1/probes/dns?target=example.test", method: .get, headers: GatewayTests.authorized)
                #expect(dns.status == .forbidden && dns.errorMessage == "probe 'dns' is disabled here (--probes tcp)", "\(dns.object)")
                let legacy = try await client.execute(
                    uri: "/api/v2/ping/srcIP/127.0.0.1/dstIP/127.0.0.1/count/1", method: .get, headers: GatewayTests.authorized)
                #expect(legacy.status == .forbidden && legacy.errorCode == "probe_disabled")
                let send = try await client.execute(
                    uri: "/v1/agents/127.0.0.1/probes/tcp?target=127.0.0.1:1&send=x", method: .get, headers: GatewayTests.authorized)
                #expect(send.status == .forbidden && send.errorCode == "parameter_disabled", "\(send.object)")
                let posted = try await client.execute(
                    uri: "/v1/agents/127.0.0.1/probes/tcp", method: .post, headers: GatewayTests.authorized + [.contentType: "application/json"],
                    body: TestServer.json(["target": "127.0.0.1:1", "send": "x"])
                )
                #expect(posted.status == .forbidden && posted.errorCode == "parameter_disabled", "\(posted.object)")
                let allowed = try await client.execute(
                    uri: "/v1/agents/127.0.0.1/probes/tcp", method: .post, headers: GatewayTests.authorized + [.contentType: "application/json"],
                    body: TestServer.json(["target": "127.0.0.1:1", "count": 1])
                )
                #expect(allowed.status == .ok, "forwarded: \(allowed.object)")
                // The sidecar serves all three; the gateway's callers see what they may use.
                let listing = try await client.execute(uri: "/v1/agents/127.0.0.1/probes", method: .get, headers: GatewayTests.authorized)
                let probes = listing.object["probes"] as? [[String: Any]] ?? []
                #expect(probes.compactMap { $0["kind"] as? String } == ["tcp"], "\(listing.object)")
                let parameters = (probes.first?["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                #expect(parameters.contains("count") && !parameters.contains("send"), "\(parameters)")
            }
        }
    }
}
