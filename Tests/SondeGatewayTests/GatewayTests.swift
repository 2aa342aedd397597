import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SondeAgentClient
import SondeCore
import SondeGateway
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// The gateway in process, forwarding to a live sidecar on loopback (the namespace tests cover the real
/// binaries across networks). Loopback is refused by default; these gateways lift only that denial.
@Suite("gateway")
struct GatewayTests {
    static let token = "gateway-token-0123456789abcdef"

    /// The declared defaults, on loopback at a port of the kernel's choosing, forwarding to `agentPort`.
    static func configuration(agentPort: Int, agentToken: String?, agents: String) throws -> GatewayConfiguration {
        var configuration = try GatewaySettings.configuration(flags: [
            "agents": .string(agents), "host": .string("127.0.0.1"), "maxBody": .integer(256),
        ])
        configuration.listener.port = 0
        configuration.listener.token = token
        configuration.neverCalled = AddressPolicy.defaultDeny
        configuration.agentPort = UInt16(agentPort)
        configuration.agentToken = agentToken
        configuration.connectTimeout = .seconds(1)
        configuration.timeout = .seconds(5)
        return configuration
    }

    static func gateway(agentPort: Int, agentToken: String? = TestServer.token, agents: String = "127.0.0.0/8") throws -> some ApplicationProtocol {
        let configuration = try configuration(agentPort: agentPort, agentToken: agentToken, agents: agents)
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .error
        return SondeGateway(configuration: configuration, version: "test").makeApplication(logger: logger)
    }

    static var authorized: HTTPFields { [.authorization: "Bearer \(token)"] }

    /// Runs `body` against a gateway whose sidecar is a live Sonde on loopback.
    func withGateway(agentToken: String? = TestServer.token, _ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void)
        async throws
    {
        try await TestServer.application(try TestServer.make()).test(.live) { sidecar in
            try await Self.gateway(agentPort: sidecar.port!, agentToken: agentToken).test(.router) { client in
                try await body(client, sidecar.port!)
            }
        }
    }

    @Test("forwards listings and probes, GET and POST, and passes the sidecar's verdicts on")
    func forwards() async throws {
        let listener = try LoopbackListener()
        try await withGateway { client, _ in
            let listing = try await client.execute(uri: "/v1/agents/127.0.0.1/probes", method: .get, headers: Self.authorized)
            #expect(listing.status == .ok)
            #expect((listing.object["probes"] as? [[String: Any]])?.count == 3)

            let tcp = try await client.execute(
                uri: "/v1/agents/127.0.0.1/probes/tcp", method: .post, headers: Self.authorized + [.contentType: "application/json"],
                body: TestServer.json(["target": "127.0.0.1:\(listener.port)", "count": 1])
            )
            #expect(tcp.status == .ok)
            #expect(tcp.object["success"] as? Bool == true, "\(String(buffer: tcp.body))")

            // The query is decoded and encoded again on its way: the sidecar sees the caller's value.
            let spaced = try await client.execute(
                uri: "/v1/agents/127.0.0.1/probes/tcp?target=a%20b:80&count=1", method: .get, headers: Self.authorized)
            #expect(spaced.status == .badRequest)
            #expect(spaced.errorCode == "invalid_target")
            #expect(spaced.errorMessage.contains("without spaces"), "\(spaced.errorMessage)")

            let streamed = try await client.execute(
                uri: "/v1/agents/127.0.0.1/probes/tcp?target=127.0.0.1:\(listener.port)&count=2&interval=0.05", method: .get,
                headers: Self.authorized + [.accept: "application/x-ndjson"]
            )
            #expect(streamed.headers[.contentType] == "application/x-ndjson")
            #expect(streamed.lines.last?["type"] as? String == "report")
            #expect(streamed.lines.count >= 3)

            let denied = try await client.execute(
                uri: "/api/v2/ping/srcIP/127.0.0.1/dstIP/169.254.169.254/count/1", method: .get, headers: Self.authorized)
            #expect(denied.status == .forbidden)
            #expect(denied.errorCode == "target_denied")
        }
    }

    @Test("refuses what it must not forward, with the field and what is allowed")
    func refuses() async throws {
        try await withGateway { client, _ in
            let outside = try await client.execute(uri: "/v1/agents/10.1.2.3/probes", method: .get, headers: Self.authorized)
            #expect(outside.status == .forbidden)
            #expect(
                outside.errorMessage
                    == "srcIP 10.1.2.3 is refused: it is outside the agent networks (--agents 127.0.0.0/8); this gateway calls sidecars only")
            let metadata = try await client.execute(uri: "/v1/agents/169.254.169.254/probes", method: .get, headers: Self.authorized)
            #expect(metadata.status == .forbidden)
            for srcIP in ["localhost", "127.0.0.1%25lo", "999.1.1.1", "127.0.0.1:22"] {
                let reply = try await client.execute(uri: "/v1/agents/\(srcIP)/probes", method: .get, headers: Self.authorized)
                #expect(reply.status == .badRequest, "\(srcIP)")
                #expect(reply.errorCode == "invalid_parameter", "\(srcIP)")
            }
            let kind = try await client.execute(uri: "/v1/agents/127.0.0.1/probes/..%2Fstatus", method: .get, headers: Self.authorized)
            #expect(kind.status == .notFound)
            let count = try await client.execute(uri: "/api/v2/ping/srcIP/127.0.0.1/dstIP/10.0.0.1/count/0", method: .get, headers: Self.authorized)
            #expect(count.status == .badRequest)
            #expect(count.errorMessage == "invalid count '0': expected an integer from 1 to 10")
            let text = try await client.execute(
                uri: "/v1/agents/127.0.0.1/probes/tcp", method: .post, headers: Self.authorized + [.contentType: "text/plain"],
                body: ByteBuffer(string: "x")
            )
            #expect(text.status == .unsupportedMediaType)
            let large = try await client.execute(
                uri: "/v1/agents/127.0.0.1/probes/tcp", method: .post, headers: Self.authorized + [.contentType: "application/json"],
                body: ByteBuffer(string: String(repeating: " ", count: 300))
            )
            #expect(large.status == .contentTooLarge)
            let anonymous = try await client.execute(uri: "/v1/agents/127.0.0.1/probes", method: .get)
            #expect(anonymous.status == .unauthorized)
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let openAPI = try await client.execute(uri: "/openapi.json", method: .get, headers: Self.authorized)
            #expect((openAPI.object["paths"] as? [String: Any])?["/api/v2/ping/srcIP/{srcIP}/dstIP/{dstIP}/count/{count}"] != nil)
            let references = OpenAPIChecks.unresolvedReferences(in: openAPI.object)
            #expect(references.isEmpty, "every $ref names a schema of components.schemas: \(references)")
        }
    }

    @Test("a sidecar that refuses the gateway's token, or is not there, is a 502 naming it")
    func failures() async throws {
        try await withGateway(agentToken: "wrong-token-0123456789abcdef") { client, port in
            let rejected = try await client.execute(uri: "/v1/agents/127.0.0.1/probes", method: .get, headers: Self.authorized)
            #expect(rejected.status == .badGateway)
            #expect(rejected.errorCode == "agent_auth_failed")
            #expect(rejected.errorMessage.contains("http://127.0.0.1:\(port) refused this gateway's token"))
        }
        let closed = try LoopbackListener()
        let port = closed.port
        _ = consume closed
        try await Self.gateway(agentPort: port).test(.router) { client in
            let absent = try await client.execute(uri: "/v1/agents/127.0.0.1/probes", method: .get, headers: Self.authorized)
            #expect(absent.status == .badGateway)
            #expect(absent.errorCode == "agent_unreachable")
            #expect(
                absent.errorMessage == "the sidecar: http://127.0.0.1:\(port) refused the connection: is sonde serve running there, on port \(port)?")
        }
    }
}

@Suite("gateway settings and agent addresses")
struct GatewaySettingsTests {
    struct Missing: Error {}
    let noFiles: (String) throws -> [UInt8] = { _ in throw Missing() }

    @Test("--agents is required and parsed; tokens come from files or the environment, never flags")
    func settings() throws {
        #expect(throws: SettingsError.self) { try GatewaySettings.configuration(flags: [:], environment: [:], readFile: noFiles) }
        do {
            _ = try GatewaySettings.configuration(flags: [:], environment: [:], readFile: noFiles)
        } catch {
            #expect(error.description.hasPrefix("missing --agents: the networks the sidecars are in"))
        }
        let configuration = try GatewaySettings.configuration(
            flags: ["agentPort": .integer(9000)],
            environment: [
                "SONDE_AGENTS": "10.244.0.0/16, fd00:10:244::/56", "SONDE_TOKEN": "platform-token-0123456789",
                "SONDE_AGENT_TOKEN": "sidecar-token-0123456789",
            ],
            readFile: noFiles
        )
        #expect(configuration.agents.map(\.description) == ["10.244.0.0/16", "fd00:10:244::/56"])
        #expect(configuration.agentPort == 9000)
        #expect(configuration.listener.host == "0.0.0.0")
        #expect(configuration.agentToken == "sidecar-token-0123456789")
        do {
            _ = try GatewaySettings.configuration(flags: [:], environment: ["SONDE_AGENTS": "10.244.0.0/33"], readFile: noFiles)
            Issue.record("an invalid network was accepted")
        } catch {
            #expect(
                error.description == "invalid network '10.244.0.0/33' in --agents: expected CIDRs such as 10.0.0.0/8 or fd00::/8, comma-separated")
        }
        let open = try GatewaySettings.configuration(
            flags: ["agents": .string("10.0.0.0/8"), "host": .string("0.0.0.0")], environment: [:], readFile: noFiles)
        #expect(throws: SettingsError.self) { try open.listener.checkExposure() }
    }

    @Test("agent URLs: a sidecar, a sidecar through a gateway, and what is refused")
    func addresses() throws {
        let sidecar = try AgentAddress("http://10.1.2.3")
        #expect(sidecar == AgentAddress(host: "10.1.2.3", port: 8090, apiBase: "/v1"))
        #expect(sidecar.description == "http://10.1.2.3:8090")
        let viaGateway = try AgentAddress("http://gateway.platform:8080/v1/agents/10.1.2.3/")
        #expect(viaGateway == AgentAddress(host: "gateway.platform", port: 8080, apiBase: "/v1/agents/10.1.2.3"))
        #expect(try AgentAddress("http://[fd00::1]:9000").authority == "[fd00::1]:9000")
        #expect(try AgentAddress("http://[fd00::1]").port == 8090)
        for bad in ["10.1.2.3:8090", "https://10.1.2.3", "http://", "http://host:99999", "http://host/a b", "http://host/a?b"] {
            #expect(throws: ProbeError.self, "\(bad)") { try AgentAddress(bad) }
        }
    }
}
