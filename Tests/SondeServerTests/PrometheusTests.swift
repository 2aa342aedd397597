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

/// `/probe` and `/metrics` in process: modules, blackbox status codes, the text format, the timeout header.
@Suite("Prometheus endpoints")
struct PrometheusTests {
    @Test("a modules file is checked against the probes: unknown probe, bad parameter, bad timeout")
    func modulesFile() throws {
        let descriptors = try TestServer.make().descriptors
        let good = try BlackboxModules(
            yaml: """
                # Sonde's modules
                modules:
                  tcp_fast: {probe: tcp, timeout: 500ms, parameters: {count: 2, interval: 0.05}}
                  irc_banner: {probe: tcp, parameters: {step: ['expect:^PING :(\\w+)', 'send:PONG ${1}', 'expect:^001 ']}}
                  dns_kube:                       # blackbox style
                    probe: dns
                    target_parameter: server
                    probe_target: "kubernetes.default"
                    parameters:
                      type: 'AAAA'
                      search: false
                      expect: "^fd00:#1"
                """, descriptors: descriptors)
        #expect(good.modules["tcp_fast"]?.timeout == .milliseconds(500))
        #expect(good.modules["tcp_fast"]?.parameters["count"] == .integer(2))
        #expect(good.modules["tcp_fast"]?.parameters["interval"] == .number(0.05))
        #expect(good.modules["irc_banner"]?.parameters["step"] == .list(["expect:^PING :(\\w+)", "send:PONG ${1}", "expect:^001 "]))
        #expect(good.modules["dns_kube"]?.targetParameter == "server")
        #expect(good.modules["dns_kube"]?.probeTarget == "kubernetes.default")
        #expect(good.modules["dns_kube"]?.parameters["type"] == .string("AAAA"))
        #expect(good.modules["dns_kube"]?.parameters["search"] == .boolean(false))
        #expect(good.modules["dns_kube"]?.parameters["expect"] == .string("^fd00:#1"), "a # inside quotes is not a comment")
        let cases: [(String, String)] = [
            ("modules: {x: {probe: nosuch}}", "module x: unknown probe 'nosuch'"),
            ("modules: {x: {probe: tcp, parameters: {count: 0}}}", "module x: invalid value '0' for count"),
            ("modules: {x: {probe: tcp, timeout: soon}}", "invalid timeout 'soon'"),
            ("modules: {x: {probe: tcp, parameters: {step: ['send:a', '']}}}", "module x: invalid value 'send:a"),
            ("modules: {x: {probe: tcp, parameters: {count: [1, 2]}}}", "module x: invalid value"),
            // Judged together, at load (not at every scrape): a step that does not parse, TLS bounds that cross.
            ("modules: {x: {probe: tcp, parameters: {step: [frobnicate]}}}", "module x: invalid value 'frobnicate' for step: expected expect:REGEX"),
            ("modules: {x: {probe: tcp, parameters: {tls: true, tlsMin: '1.3', tlsMax: '1.2'}}}", "module x: invalid value '1.2' for tlsMax"),
            ("modules: {x: {probe: dns, target_parameter: colour}}", "target_parameter 'colour' needs a parameter of dns"),
            ("- not a mapping", "the modules file must be a mapping with `modules:`"),
            ("modules:\n  x: {probe: tcp", "the modules file is not valid YAML: line 3:"),
            ("modules:\n\tx: {probe: tcp}", "the modules file is not valid YAML: line 2:"),
            ("modules:\n  x: {probe: tcp, colour: red}", "module x: line 2: unknown key colour"),
            ("modules:\n  x: {probe: tcp}\n  x: {probe: dns}", "the modules file is not valid YAML: line 3: x is defined twice in one mapping"),
            ("modules: {}\nsettings: {}", "line 2: unknown key settings"),
            (
                "modules: {x: {probe: tcp, target_parameter: cacert, probe_target: a}}",
                "target_parameter 'cacert' needs a parameter of tcp that is not a file"
            ),
        ]
        for (yaml, message) in cases {
            let error = #expect(throws: SettingsError.self) { try BlackboxModules(yaml: yaml, descriptors: descriptors) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
    }

    @Test("/probe answers in blackbox's shape and status codes")
    func probeEndpoint() async throws {
        let listener = try LoopbackListener()
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let headers = TestServer.authorized
            let ok = try await client.execute(uri: "/probe?module=tcp_connect&target=127.0.0.1:\(listener.port)", method: .get, headers: headers)
            #expect(ok.status == .ok)
            #expect(ok.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = String(buffer: ok.body)
            for line in [
                "# TYPE probe_success gauge", "probe_success 1", "probe_ip_protocol 4", "probe_tcp_connections 1", "probe_failed_due_to_regex 0",
            ] {
                #expect(text.contains(line + "\n"), "\(line) in \(text)")
            }
            let refused = try await client.execute(uri: "/probe?module=tcp_connect&target=127.0.0.1:1", method: .get, headers: headers)
            #expect(refused.status == .ok)
            #expect(String(buffer: refused.body).contains("probe_success 0\n"))
            // A target that cannot even be parsed is a failed probe, as in blackbox, not an error.
            let malformed = try await client.execute(uri: "/probe?module=tcp_connect&target=127.0.0.1", method: .get, headers: headers)
            #expect(malformed.status == .ok)
            #expect(String(buffer: malformed.body).contains("probe_success 0\n"))

            #expect(
                try await client.execute(uri: "/probe?module=tcp_connect", method: .get, headers: headers).errorMessage
                    == "Target parameter is missing")
            let unknown = try await client.execute(uri: "/probe?module=nosuch&target=x", method: .get, headers: headers)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorMessage.hasPrefix("Unknown module \"nosuch\""))
            let badHeader = try await client.execute(
                uri: "/probe?module=tcp_connect&target=127.0.0.1:1", method: .get,
                headers: headers + [HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!: "abc"]
            )
            #expect(badHeader.status == .badRequest)
            #expect(try await client.execute(uri: "/probe?module=tcp_connect&target=127.0.0.1:1", method: .get).status == .unauthorized)
            let denied = try await client.execute(uri: "/probe?module=tcp_connect&target=169.254.169.254:80", method: .get, headers: headers)
            #expect(denied.status == .forbidden)

            let debug = try await client.execute(
                uri: "/probe?module=tcp_connect&target=127.0.0.1:\(listener.port)&debug=true", method: .get, headers: headers)
            let debugText = String(buffer: debug.body)
            // blackbox's shape: logfmt lines from "Beginning probe" to the verdict.
            #expect(debugText.contains("Logs for the probe:\nts="), "\(debugText)")
            #expect(
                debugText.contains(" caller=sonde module=tcp_connect target=127.0.0.1:\(listener.port) level=info msg=\"Beginning probe\" probe=tcp"))
            #expect(debugText.contains(" level=info msg=attempt "), "\(debugText)")
            #expect(debugText.contains(" level=info msg=\"Probe succeeded\" duration_seconds="), "\(debugText)")
            #expect(debugText.contains("Metrics that would have been returned:\n# HELP probe_success"))
            #expect(debugText.hasSuffix("Module configuration:\nprobe: tcp\nparameters: {}\n"), "\(debugText)")
        }
    }

    @Test("/metrics counts requests, probes and refusals")
    func agentMetrics() async throws {
        let listener = try LoopbackListener()
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            _ = try await client.execute(uri: "/v1/probes/tcp?target=127.0.0.1:\(listener.port)", method: .get, headers: TestServer.authorized)
            _ = try await client.execute(uri: "/v1/probes/tcp?target=127.0.0.1:1", method: .get, headers: TestServer.authorized)
            _ = try await client.execute(uri: "/v1/probes", method: .get)
            _ = try await client.execute(uri: "/v1/probes/tcp?target=169.254.169.254:80", method: .get, headers: TestServer.authorized)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: TestServer.authorized)
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            for line in [
                #"sonde_probes_total{kind="tcp",outcome="success"} 1"#, #"sonde_probes_total{kind="tcp",outcome="failure"} 1"#,
                #"sonde_probes_total{kind="tcp",outcome="error"} 1"#, #"sonde_requests_rejected_total{reason="auth"} 1"#,
                #"sonde_requests_rejected_total{reason="policy"} 1"#, #"sonde_build_info{version="test"} 1.0"#,
                #"sonde_probes_in_flight 0.0"#,
            ] {
                #expect(text.contains(line + "\n"), "\(line)")
            }
            #expect(text.contains(#"sonde_http_requests_total{route="/v1/probes/{kind}",status="200"} 2"#), "\(text)")
            #expect(text.contains("process_resident_memory_bytes "))
        }
    }
}
