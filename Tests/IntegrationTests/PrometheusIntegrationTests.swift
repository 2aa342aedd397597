import Foundation
import Testing

/// A real Prometheus (Debian's `prometheus`) scrapes `sonde serve`'s `/metrics` and its blackbox-compatible
/// `/probe` (ICMP, TCP and DNS modules) against the test namespaces; the series are read back through
/// Prometheus's HTTP API. `promtool check metrics` lints both endpoints' output. Then the modules file is reloaded,
/// with a bad file and a good one, as Prometheus sees it.
@Suite("Prometheus scrapes sonde serve", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)), .serialized)
struct PrometheusIntegrationTests {
    let network: TestNetwork
    static let port = 18_305
    static let prometheusPort = 19_305

    init() async throws { network = try await TestNetwork.get() }

    static let modules = """
        modules:
          icmp:
            probe: ping
            parameters: {count: 8, interval: 0.05, timeout: 0.3}
          tcp_connect:
            probe: tcp
          dns_www:
            probe: dns
            target_parameter: server
            probe_target: www.test
            parameters: {type: A, search: false}
          # blackbox_exporter's own modules, in the same file
          blackbox_tcp:
            prober: tcp
            tcp:
              preferred_ip_protocol: ip4
          blackbox_dns:
            prober: dns
            dns:
              query_name: www.test
              query_type: A

        """

    static func prometheusConfiguration(token: String) -> String {
        func blackbox(_ job: String, module: String, targets: [String]) -> String {
            """
              - job_name: \(job)
                metrics_path: /probe
                params: {module: [\(module)]}
                authorization: {credentials: \(token)}
                static_configs: [{targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]}]
                relabel_configs:
                  - {source_labels: [__address__], target_label: __param_target}
                  - {source_labels: [__param_target], target_label: instance}
                  - {target_label: __address__, replacement: '127.0.0.1:\(port)'}

            """
        }
        return """
            global: {scrape_interval: 2s, scrape_timeout: 2s}
            scrape_configs:
              - job_name: sonde
                authorization: {credentials: \(token)}
                static_configs: [{targets: ['127.0.0.1:\(port)']}]

            """
                + blackbox("icmp", module: "icmp", targets: ["10.77.2.2", "10.77.2.9", "fd00:77:2::2"])
                + blackbox("tcp", module: "tcp_connect", targets: ["10.77.2.2:2222", "10.77.2.2:2223"])
                + blackbox("dns", module: "dns_www", targets: ["10.77.2.2"])
                + blackbox("blackbox_tcp", module: "blackbox_tcp", targets: ["10.77.2.2:2222", "10.77.2.2:2223"])
                + blackbox("blackbox_dns", module: "blackbox_dns", targets: ["10.77.2.2"])
    }

    /// One instant query; the value of each series by its `instance` label (or the job's when there is none).
    func query(_ expression: String) async throws -> [String: Double] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let result = try await Shell.captureAsync(
            ["ip", "netns", "exec", network.client, "curl", "-s", "http://127.0.0.1:\(Self.prometheusPort)/api/v1/query?query=\(encoded)"],
            timeout: 10
        )
        let json = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Any]
        let series = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        var values: [String: Double] = [:]
        for item in series {
            let labels = item["metric"] as? [String: String] ?? [:]
            let value = (item["value"] as? [Any])?.last as? String
            values[labels["instance"] ?? labels["job"] ?? "?"] = value.flatMap(Double.init)
        }
        return values
    }

    @Test("probe_success, loss ratio, TCP and DNS series and Sonde's own metrics arrive in Prometheus")
    func scrape() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-prometheus-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        defer { _ = system("kill $(cat \(folder)/prometheus.pid) 2>/dev/null; sleep 0.2; rm -rf \(folder)") }
        try Self.modules.write(toFile: folder + "/modules.yml", atomically: true, encoding: .utf8)
        chmod(folder + "/modules.yml", 0o644)
        try Self.prometheusConfiguration(token: ServeIntegrationTests.token)
            .write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)

        // 10.77.2.9: an address of this test's own on the echo host, behind a router rule that drops every
        // second echo request to it — a known share, whatever else the ICMP socket carries.
        let router = network.router
        #expect(system("ip -n \(network.echo) addr add 10.77.2.9/24 dev e0") == 0)
        #expect(
            system(
                """
                ip netns exec \(router) nft add table inet sondeloss && \
                ip netns exec \(router) nft add chain inet sondeloss forward '{ type filter hook forward priority 0; }' && \
                ip netns exec \(router) nft add rule inet sondeloss forward ip daddr 10.77.2.9 icmp type echo-request numgen inc mod 2 == 1 drop
                """) == 0)
        defer {
            _ = system("ip netns exec \(router) nft delete table inet sondeloss; ip -n \(network.echo) addr del 10.77.2.9/24 dev e0")
        }

        let server = try ServeIntegrationTests.Server(
            namespace: network.client, port: Self.port, arguments: ["--modules", folder + "/modules.yml", "--min-interval", "0.05"])
        try await server.waitUntilServing()

        // promtool lints what each endpoint serves.
        for path in [
            "/metrics", "/probe?module=icmp&target=10.77.2.2", "/probe?module=tcp_connect&target=10.77.2.2:2222",
            "/probe?module=dns_www&target=10.77.2.2",
        ] {
            let lint = system(
                """
                ip netns exec \(network.client) curl -sf -H 'Authorization: Bearer \(ServeIntegrationTests.token)' \
                'http://127.0.0.1:\(Self.port)\(path)' > \(folder)/lint.txt && promtool check metrics < \(folder)/lint.txt > \(folder)/lint.out 2>&1
                """)
            #expect(lint == 0, "promtool check metrics \(path): \((try? String(contentsOfFile: folder + "/lint.out", encoding: .utf8)) ?? "")")
        }
        let missing = try await server.request("GET", "/probe?module=icmp")
        #expect(missing.status == 400)
        #expect(missing.body.contains("Target parameter is missing"))
        let unknown = try await server.request("GET", "/probe?module=nosuch&target=10.77.2.2")
        #expect(unknown.status == 400)
        #expect(unknown.body.contains("Unknown module \\\"nosuch\\\""))
        let widened = try await server.request("GET", "/probe?module=icmp&target=10.77.2.2&count=100000&interval=0.002")
        #expect(widened.body.contains("probe_icmp_packets_sent 8"), "URL parameters never widen a module: \(widened.body)")

        _ = system(
            "ip netns exec \(network.client) prometheus --config.file=\(folder)/prometheus.yml --storage.tsdb.path=\(folder)/data --web.listen-address=127.0.0.1:\(Self.prometheusPort) --log.level=warn > \(folder)/prometheus.log 2>&1 & echo $! > \(folder)/prometheus.pid"
        )

        // Two scrape rounds, at most 30 s.
        var success: [String: Double] = [:]
        for _ in 0..<60 {
            success = try await query(#"probe_success{job="icmp"}"#)
            let dns = try await query(#"probe_success{job="dns"}"#)
            let written = try await query(#"probe_success{job=~"blackbox_.*"}"#)
            if success.count == 3, dns.count == 1, written.count == 3 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        try await Task.sleep(for: .seconds(2))
        success = try await query(#"probe_success{job="icmp"}"#)
        #expect(success["10.77.2.2"] == 1)
        #expect(success["fd00:77:2::2"] == 1)
        #expect(success["10.77.2.9"] == 1, "half the packets answered is still success")
        let loss = try await query(#"probe_icmp_packet_loss_ratio{job="icmp"}"#)
        #expect(loss["10.77.2.2"] == 0)
        #expect(loss["10.77.2.9"] == 0.5, "the router drops every second echo request: \(loss)")
        #expect(try await query(#"probe_icmp_packets_sent{job="icmp"}"#)["10.77.2.9"] == 8)
        #expect(try await query(#"probe_icmp_packets_received{job="icmp"}"#)["10.77.2.9"] == 4)
        #expect(try await query(#"probe_ip_protocol{job="icmp"}"#)["fd00:77:2::2"] == 6)
        #expect((try await query(#"probe_icmp_rtt_max_seconds{job="icmp"}"#)["10.77.2.2"] ?? -1) > 0)

        let tcp = try await query(#"probe_success{job="tcp"}"#)
        #expect(tcp["10.77.2.2:2222"] == 1)
        #expect(tcp["10.77.2.2:2223"] == 0, "nothing listens on 2223: refused")

        #expect(try await query(#"probe_success{job="dns"}"#)["10.77.2.2"] == 1)
        #expect(try await query(#"probe_dns_answer_rrs{job="dns"}"#)["10.77.2.2"] == 1)
        #expect(try await query(#"probe_dns_rcode{job="dns"}"#)["10.77.2.2"] == 0)

        // Modules written for blackbox_exporter, scraped by a job written for it: the same answers.
        let blackboxTCP = try await query(#"probe_success{job="blackbox_tcp"}"#)
        #expect(blackboxTCP["10.77.2.2:2222"] == 1 && blackboxTCP["10.77.2.2:2223"] == 0, "\(blackboxTCP)")
        #expect(try await query(#"probe_success{job="blackbox_dns"}"#)["10.77.2.2"] == 1)
        #expect(try await query(#"probe_dns_duration_seconds{job="blackbox_dns",phase="connect"}"#).count == 1)

        #expect(try await query(#"up{job="sonde"}"#)["127.0.0.1:\(Self.port)"] == 1)
        let probes = try await query(#"sum(sonde_probes_total{kind="ping"})"#)
        #expect((probes.values.first ?? 0) >= 3, "\(probes)")
        #expect((try await query(#"process_resident_memory_bytes{job="sonde"}"#).values.first ?? 0) > 1_000_000)
        #expect(try await query(#"sonde_privileges_info{job="sonde",mode="root-dropped",cap_eff="0000000000002000"}"#).count == 1)

        // Reload as an operator does, seen from Prometheus: a bad file keeps the modules, which go on being scraped,
        // and says so; a good one without dns_www takes that module away.
        /// Waits (at most 20 s) until `expression` has `value` for `instance`.
        func eventually(_ expression: String, _ instance: String, _ value: Double) async throws -> Bool {
            for _ in 0..<40 {
                if try await query(expression)[instance] == value { return true }
                try await Task.sleep(for: .milliseconds(500))
            }
            return false
        }
        let sonde = "127.0.0.1:\(Self.port)"
        try Self.modules.replacingOccurrences(of: "    tcp:\n      preferred_ip_protocol: ip4", with: "    tcp:\n      colour: red")
            .write(toFile: folder + "/modules.yml", atomically: true, encoding: .utf8)
        chmod(folder + "/modules.yml", 0o644)
        #expect(try await server.request("POST", "/-/reload").status == 500)
        #expect(try await eventually(#"sonde_config_last_reload_successful{job="sonde"}"#, sonde, 0))
        try await Task.sleep(for: .seconds(5))
        #expect(try await query(#"up{job="blackbox_tcp"}"#)["10.77.2.2:2222"] == 1, "the loaded modules stay")
        #expect(try await query(#"probe_success{job="blackbox_tcp"}"#)["10.77.2.2:2222"] == 1)
        let withoutDNS =
            Self.modules.components(separatedBy: "  dns_www:")[0] + "  blackbox_tcp:" + Self.modules.components(separatedBy: "  blackbox_tcp:")[1]
        try withoutDNS.write(toFile: folder + "/modules.yml", atomically: true, encoding: .utf8)
        chmod(folder + "/modules.yml", 0o644)
        kill(server.process.processIdentifier, SIGHUP)
        #expect(try await eventually(#"sonde_config_last_reload_successful{job="sonde"}"#, sonde, 1))
        #expect(try await eventually(#"up{job="dns"}"#, "10.77.2.2", 0), "dns_www is gone: the scrape gets 400")
        #expect(try await query(#"up{job="blackbox_dns"}"#)["10.77.2.2"] == 1)
        #expect(await server.terminate() == 0)
    }
}
