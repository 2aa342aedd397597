import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SondeCore
import SondeGateway
import SondeHTTP
import SondeServer
import Testing

/// `--probes` and `--deny-parameters`: what the callers of one listener may use, for the sidecar's API and,
/// separately, for the gateway's callers.
@Suite("probe and parameter restrictions")
struct ProbeRestrictionsTests {
    static func restrictions(probes: String? = nil, deny: String? = nil) throws(SettingsError) -> ProbeRestrictions {
        var values: [String: ParameterValue] = [:]
        if let probes { values["probes"] = .string(probes) }
        if let deny { values["denyParameters"] = .string(deny) }
        return try ProbeRestrictions(ParameterValues(values))
    }

    @Test("settings are parsed, and what names no probe or parameter here is refused at start, saying what there is")
    func settings() throws {
        let parsed = try Self.restrictions(probes: " tcp, ping ", deny: "tcp.send,tcp.expect")
        #expect(parsed.probes == ["tcp", "ping"])
        #expect(parsed.deniedParameters == ["tcp": ["send", "expect"]])
        #expect(parsed.summary == "probes=ping,tcp denyParameters=tcp.expect,tcp.send")
        try parsed.check(against: TestServer.registry.descriptors)

        let refused: [(String?, String?, String)] = [
            (",", nil, "invalid value ',' for --probes: expected probe kinds separated by commas, e.g. ping,dns"),
            ("ping,Tcp", nil, "invalid value 'ping,Tcp' for --probes: 'Tcp' is not a probe kind (lower-case letters, digits, - and _)"),
            (nil, "send", "invalid value 'send' in --deny-parameters: expected KIND.NAME (a probe kind and one of its parameters), e.g. tcp.send"),
            (nil, "tcp.", "invalid value 'tcp.' in --deny-parameters"),
        ]
        for (probes, deny, message) in refused {
            let error = #expect(throws: SettingsError.self) { try Self.restrictions(probes: probes, deny: deny) }
            #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "accepted")")
        }
        let unknown: [(String?, String?, String)] = [
            ("ping,http", nil, "invalid value 'http' for --probes: no such probe here (expected some of dns, ping, tcp)"),
            (nil, "tcp.payload", "invalid value 'tcp.payload' in --deny-parameters: tcp has no parameter 'payload' (it has "),
            (nil, "udp.port", "invalid value 'udp.…' in --deny-parameters: no probe 'udp' here (expected one of dns, ping, tcp)"),
        ]
        for (probes, deny, message) in unknown {
            let error = #expect(throws: SettingsError.self) {
                try Self.restrictions(probes: probes, deny: deny).check(against: TestServer.registry.descriptors)
            }
            #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "accepted")")
        }
    }

    @Test("the sidecar refuses disabled probes and parameters with 403 and leaves them out of the listing and the OpenAPI document")
    func sidecar() async throws {
        let restrictions = try Self.restrictions(probes: "tcp,dns", deny: "tcp.send,tcp.expect")
        try await TestServer.application(TestServer.make { $0.restrictions = restrictions }).test(.router) { client in
            let ping = try await client.execute(uri: "/v1/probes/ping?target=127.0.0.1", method: .get, headers: TestServer.authorized)
            #expect(ping.status == .forbidden)
            #expect(ping.errorCode == "probe_disabled")
            #expect(ping.errorMessage == "probe 'ping' is disabled here (--probes dns,tcp)")
            let legacy = try await client.execute(uri: "/ping/127.0.0.1/1", method: .get, headers: TestServer.authorized)
            #expect(legacy.status == .forbidden && legacy.errorCode == "probe_disabled", "the legacy route is ping too")

            let send = try await client.execute(uri: "/v1/probes/tcp?target=127.0.0.1:1&send=PING", method: .get, headers: TestServer.authorized)
            #expect(send.status == .forbidden)
            #expect(send.errorCode == "parameter_disabled")
            #expect(send.errorMessage == "parameter 'send' of tcp is disabled here (--deny-parameters tcp.send); leave it out")
            let posted = try await client.execute(
                uri: "/v1/probes/tcp", method: .post, headers: TestServer.authorized + [.contentType: "application/json"],
                body: TestServer.json(["target": "127.0.0.1:1", "expect": "OK"])
            )
            #expect(posted.status == .forbidden && posted.errorCode == "parameter_disabled", "\(posted.object)")
            let plain = try await client.execute(uri: "/v1/probes/tcp?target=127.0.0.1:1&count=1", method: .get, headers: TestServer.authorized)
            #expect(plain.status == .ok, "what is left works")

            let listing = try await client.execute(uri: "/v1/probes", method: .get, headers: TestServer.authorized)
            let probes = listing.object["probes"] as? [[String: Any]] ?? []
            #expect(probes.compactMap { $0["kind"] as? String } == ["dns", "tcp"])
            let tcpParameters = (probes.last?["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(!tcpParameters.isEmpty && !tcpParameters.contains("send") && !tcpParameters.contains("expect"), "\(tcpParameters)")
            let openAPI = try await client.execute(uri: "/openapi.json", method: .get, headers: TestServer.authorized)
            let paths = openAPI.object["paths"] as? [String: Any] ?? [:]
            #expect(
                paths["/v1/probes/ping"] == nil && paths["/ping/{dstIP}/{count}"] == nil && paths["/v1/probes/tcp"] != nil, "\(paths.keys.sorted())")
            let get = (paths["/v1/probes/tcp"] as? [String: Any])?["get"] as? [String: Any] ?? [:]
            let documented = (get["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(documented.contains("count") && !documented.contains("send") && !documented.contains("expect"), "\(documented)")
        }
    }

    @Test("the gateway has restrictions of its own for its callers, whatever the sidecar allows")
    func gateway() async throws {
        try await TestServer.application(TestServer.make()).test(.live) { sidecar in
            var configuration = GatewayConfiguration(
                host: "127.0.0.1", port: 0, token: GatewayTests.token, agents: [IPNetwork("127.0.0.0/8")!], neverCalled: AddressPolicy.defaultDeny,
                agentPort: UInt16(sidecar.port!), agentToken: TestServer.token, connectTimeout: .seconds(1), timeout: .seconds(5), maxBodyBytes: 256
            )
            configuration.restrictions = try Self.restrictions(probes: "tcp", deny: "tcp.send")
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
