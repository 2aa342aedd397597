import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SondeCore
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// `--probes` and `--deny-parameters`: what the callers of the sidecar's API may use (the gateway's own are in
/// SondeGatewayTests).
@Suite("probe and parameter restrictions")
struct ProbeRestrictionsTests {
    @Test("settings are parsed, and what names no probe or parameter here is refused at start, saying what there is")
    func settings() throws {
        let parsed = try ProbeRestrictions.parsing(probes: " tcp, ping ", deny: "tcp.send,tcp.expect")
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
            let error = #expect(throws: SettingsError.self) { try ProbeRestrictions.parsing(probes: probes, deny: deny) }
            #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "accepted")")
        }
        let unknown: [(String?, String?, String)] = [
            ("ping,http", nil, "invalid value 'http' for --probes: no such probe here (expected some of dns, ping, tcp)"),
            (nil, "tcp.payload", "invalid value 'tcp.payload' in --deny-parameters: tcp has no parameter 'payload' (it has "),
            (nil, "udp.port", "invalid value 'udp.…' in --deny-parameters: no probe 'udp' here (expected one of dns, ping, tcp)"),
        ]
        for (probes, deny, message) in unknown {
            let error = #expect(throws: SettingsError.self) {
                try ProbeRestrictions.parsing(probes: probes, deny: deny).check(against: TestServer.registry.descriptors)
            }
            #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "accepted")")
        }
    }

    @Test("the sidecar refuses disabled probes and parameters with 403 and leaves them out of the listing and the OpenAPI document")
    func sidecar() async throws {
        let restrictions = try ProbeRestrictions.parsing(probes: "tcp,dns", deny: "tcp.send,tcp.expect")
        try await TestServer.application(try TestServer.make { $0.listener.restrictions = restrictions }).test(.router) { client in
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
}
