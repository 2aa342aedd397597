import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SondeCore
import SondeServer
import SondeServerTestSupport
import Testing

/// Reloading the modules file as blackbox_exporter does (`POST /-/reload`; SIGHUP is the real binary's test), and
/// `GET /config`: a good file replaces the modules, the OpenAPI document and `/config` with them; a bad one keeps
/// them and says why, in the answer and in `sonde_config_last_reload_successful`.
@Suite("modules reload and /config")
struct ModuleReloadTests {
    /// A modules file in a folder of its own, removed at the end.
    final class ModulesFile: Sendable {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-reload-\(UUID().uuidString)")
        var path: String { folder.appendingPathComponent("modules.yml").path }
        init(_ text: String) throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try write(text)
        }
        func write(_ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        deinit { try? FileManager.default.removeItem(at: folder) }
    }

    static let first = "modules:\n  tcp_a:\n    probe: tcp\n    timeout: 2s\n    parameters: {count: 2}\n"
    static let second = "modules:\n  tcp_b:\n    prober: tcp\n"

    static func server(_ file: ModulesFile) throws -> SondeServer {
        try TestServer.make {
            $0.modulesFile = file.path
            $0.modulesYAML = try? String(contentsOfFile: file.path, encoding: .utf8)
        }
    }

    static func moduleEnum(_ client: some TestClientProtocol) async throws -> [String] {
        let document = try await client.execute(uri: "/openapi.json", method: .get, headers: TestServer.authorized).object
        let paths = document["paths"] as? [String: Any]
        let parameters = ((paths?["/probe"] as? [String: Any])?["get"] as? [String: Any])?["parameters"] as? [[String: Any]] ?? []
        return (parameters.first { $0["name"] as? String == "module" }?["schema"] as? [String: Any])?["enum"] as? [String] ?? []
    }

    static func gauge(_ name: String, _ client: some TestClientProtocol) async throws -> Double? {
        let text = String(buffer: try await client.execute(uri: "/metrics", method: .get, headers: TestServer.authorized).body)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("a good file replaces the modules, /config and the OpenAPI list; a bad one keeps them and says why")
    func reload() async throws {
        let file = try ModulesFile(Self.first)
        let listener = try LoopbackListener()
        try await TestServer.application(Self.server(file)).test(.router) { client in
            let headers = TestServer.authorized
            let config = String(buffer: try await client.execute(uri: "/config", method: .get, headers: headers).body)
            #expect(config.contains("read from \(file.path)"))
            #expect(config.contains("modules:\n  tcp_a:\n    probe: tcp\n    timeout: 2s\n    parameters:\n      count: 2\n"), "\(config)")
            #expect(try await Self.moduleEnum(client) == ["tcp_a"])
            #expect(try await Self.gauge("sonde_config_last_reload_successful", client) == 1)
            let loadedAt = try #require(try await Self.gauge("sonde_config_last_reload_success_timestamp_seconds", client))
            #expect(abs(loadedAt - Date().timeIntervalSince1970) < 60)

            try file.write(Self.second)
            let reloaded = try await client.execute(uri: "/-/reload", method: .post, headers: headers)
            #expect(reloaded.status == .ok)
            #expect(reloaded.object["modules"] as? [String] == ["tcp_b"])
            let gone = try await client.execute(uri: "/probe?module=tcp_a&target=127.0.0.1:\(listener.port)", method: .get, headers: headers)
            #expect(gone.status == .badRequest)
            #expect(gone.errorMessage == "Unknown module \"tcp_a\" (modules: tcp_b)")
            let probed = try await client.execute(uri: "/probe?module=tcp_b&target=127.0.0.1:\(listener.port)", method: .get, headers: headers)
            #expect(String(buffer: probed.body).contains("probe_success 1\n"))
            #expect(try await Self.moduleEnum(client) == ["tcp_b"])
            #expect(
                String(buffer: try await client.execute(uri: "/config", method: .get, headers: headers).body).contains("  tcp_b:\n    probe: tcp\n"))
            let reloadedAt = try #require(try await Self.gauge("sonde_config_last_reload_success_timestamp_seconds", client))
            #expect(reloadedAt >= loadedAt)

            try file.write("modules:\n  tcp_c: {probe: tcp, colour: red}\n")
            let refused = try await client.execute(uri: "/-/reload", method: .post, headers: headers)
            #expect(refused.status == .internalServerError)
            #expect(refused.errorCode == "reload_failed")
            #expect(
                refused.errorMessage.hasPrefix("failed to reload config: \(file.path): module tcp_c: line 2: unknown key colour"),
                "\(refused.errorMessage)")
            let kept = try await client.execute(uri: "/probe?module=tcp_b&target=127.0.0.1:\(listener.port)", method: .get, headers: headers)
            #expect(String(buffer: kept.body).contains("probe_success 1\n"))
            #expect(try await Self.moduleEnum(client) == ["tcp_b"])
            #expect(try await Self.gauge("sonde_config_last_reload_successful", client) == 0)
            #expect(try await Self.gauge("sonde_config_last_reload_success_timestamp_seconds", client) == reloadedAt)

            try FileManager.default.removeItem(atPath: file.path)
            let missing = try await client.execute(uri: "/-/reload", method: .post, headers: headers)
            #expect(missing.status == .internalServerError)
            #expect(missing.errorMessage.contains("cannot read the modules file \(file.path)"), "\(missing.errorMessage)")
            #expect(missing.errorMessage.contains("No such file or directory"), "\(missing.errorMessage)")

            try file.write(Self.first)
            #expect(try await client.execute(uri: "/-/reload", method: .post, headers: headers).status == .ok)
            #expect(try await Self.gauge("sonde_config_last_reload_successful", client) == 1)
            #expect(try await Self.moduleEnum(client) == ["tcp_a"])
        }
    }

    @Test("/-/reload is POST only and needs the token; without a modules file the defaults stay")
    func reloadRules() async throws {
        try await TestServer.application(TestServer.make()).test(.router) { client in
            let get = try await client.execute(uri: "/-/reload", method: .get, headers: TestServer.authorized)
            #expect(get.status == .methodNotAllowed)
            #expect(try await client.execute(uri: "/-/reload", method: .post).status == .unauthorized)
            #expect(try await client.execute(uri: "/config", method: .get).status == .unauthorized)
            let reloaded = try await client.execute(uri: "/-/reload", method: .post, headers: TestServer.authorized)
            #expect(reloaded.status == .ok)
            #expect((reloaded.object["modules"] as? [String])?.contains("tcp_connect") == true)
            let config = String(buffer: try await client.execute(uri: "/config", method: .get, headers: TestServer.authorized).body)
            #expect(config.contains("the defaults (no modules file)"))
            #expect(config.contains("  tcp_connect:\n    probe: tcp\n"))
        }
    }

    @Test("credential headers are shown as <secret>, other values as they are")
    func secretsMasked() {
        let header = ParameterSpec("header", .text(maxLength: 8192, format: .headerLines), summary: "header")
        let shown = header.displayed(
            .list(["Authorization: Basic dXNlcjpzM2NyZXQ=", "Host: example", "X-Api-Key: k-123", "Cookie: id=7", "X-Session-Token: t"]))
        #expect(shown == .list(["Authorization: <secret>", "Host: example", "X-Api-Key: <secret>", "Cookie: <secret>", "X-Session-Token: <secret>"]))
        #expect(header.displayed(.string("Authorization: Bearer abc\nAccept: */*")) == .string("Authorization: <secret>\nAccept: */*"))
        let plain = ParameterSpec("data", .text(maxLength: 100, format: .any), summary: "body")
        #expect(plain.displayed(.string("Authorization: Bearer abc")) == .string("Authorization: Bearer abc"))
    }
}
