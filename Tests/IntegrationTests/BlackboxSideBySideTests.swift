import Foundation
import Testing

/// One blackbox.yml, unchanged, loaded by Debian's prometheus-blackbox-exporter and by `sonde serve`, both in the
/// client namespace, probing the same real servers in the echo namespace (nginx: HTTP, HTTPS, a TLS banner,
/// IMAP with STARTTLS, gzip bodies, DNS over TLS in front of dnsmasq; dnsmasq; the ICMP echo of 10.77.2.2; grpcio's health server,
/// plaintext and TLS). Per module and target: the same `probe_success`,
/// and every series blackbox writes (its name, its label names, its phase) Sonde writes too.
@Suite("blackbox.yml side by side with blackbox_exporter", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct BlackboxSideBySideTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    /// Written for blackbox; Sonde gets the same bytes.
    func configuration(folder: String) -> String {
        """
        modules:
          http_2xx:
            prober: http
            timeout: 5s
            http:
              preferred_ip_protocol: ip4
          http_post_echo:
            prober: http
            http:
              method: POST
              headers:
                Content-Type: application/json
              body: '{"a": 1}'
              valid_status_codes: [200]
              fail_if_body_not_matches_regexp: ["POST"]
              preferred_ip_protocol: ip4
          http_body_fails:
            prober: http
            http:
              fail_if_body_matches_regexp: ["hello", "nothing here"]
              preferred_ip_protocol: ip4
          https_trusted:
            prober: http
            http:
              preferred_ip_protocol: ip4
              fail_if_not_ssl: true
              tls_config:
                ca_file: \(network.certificateRoot)
                server_name: shop.test
          https_insecure:
            prober: http
            http:
              preferred_ip_protocol: ip4
              tls_config:
                insecure_skip_verify: true
          tcp_connect:
            prober: tcp
            tcp:
              preferred_ip_protocol: ip4
          tls_banner:
            prober: tcp
            tcp:
              tls: true
              tls_config:
                insecure_skip_verify: true
          imap_starttls:
            prober: tcp
            timeout: 5s
            tcp:
              query_response:
                - expect: "^\\\\* OK"
                - send: "a1 STARTTLS"
                - expect: "^a1 OK"
                - starttls: true
                - send: "a2 CAPABILITY"
                - expect: "^a2 OK"
              tls_config:
                insecure_skip_verify: true
          icmp:
            prober: icmp
            timeout: 5s
            icmp:
              preferred_ip_protocol: ip4
          dns_a:
            prober: dns
            dns:
              query_name: www.test
              query_type: A
          dns_nodata:
            prober: dns
            dns:
              query_name: www.test
              query_type: MX
          dns_nxdomain:
            prober: dns
            dns:
              query_name: nothing.test
              query_type: A
              transport_protocol: tcp
          http_host_header:
            prober: http
            http:
              headers:
                Host: shop.test
              fail_if_body_not_matches_regexp: ['^GET shop\\.test ']
              preferred_ip_protocol: ip4
          http_hostname:
            prober: http
            http:
              fail_if_body_not_matches_regexp: ['^GET www\\.shop\\.test ']
              preferred_ip_protocol: ip4
          http_h2_only:
            prober: http
            http:
              valid_http_versions: ["HTTP/2.0"]
              preferred_ip_protocol: ip4
              tls_config:
                insecure_skip_verify: true
          http_not_nginx:
            prober: http
            http:
              fail_if_header_matches: [{header: Server, regexp: "^nginx"}]
              preferred_ip_protocol: ip4
          http_bodies_required:
            prober: http
            http:
              fail_if_body_not_matches_regexp: ["^hello", "hello"]
              preferred_ip_protocol: ip4
          http_bodies_one_missing:
            prober: http
            http:
              fail_if_body_not_matches_regexp: ["^hello", "^bye"]
              preferred_ip_protocol: ip4
          http_headers_checked:
            prober: http
            http:
              fail_if_header_not_matches:
                - {header: Server, regexp: nginx}
                - {header: Content-Type, regexp: '^text/'}
                - {header: X-Cache, regexp: HIT, allow_missing: true}
              preferred_ip_protocol: ip4
          http_password_file:
            prober: http
            http:
              basic_auth: {username: probe, password_file: \(folder)/password.txt}
              fail_if_body_not_matches_regexp: ["^GET "]
              preferred_ip_protocol: ip4
          dns_validated:
            prober: dns
            dns:
              query_name: www.test
              query_type: A
              validate_answer_rrs:
                fail_if_none_matches_regexp: ['10\\.77\\.2\\.7']
                fail_if_not_matches_regexp: ["^www\\\\.test\\\\.\\t[0-9]+\\tIN\\tA\\t10\\\\.77\\\\.2\\\\.7$"]
          dns_validated_fails:
            prober: dns
            dns:
              query_name: www.test
              query_type: A
              validate_answer_rrs:
                fail_if_matches_regexp: ['.*10\\.77\\.2\\.7']
          grpc_plain:
            prober: grpc
            grpc:
              preferred_ip_protocol: ip4
          grpc_down:
            prober: grpc
            grpc:
              service: down
              preferred_ip_protocol: ip4
          http_gzip:
            prober: http
            http:
              compression: gzip
              headers:
                Accept-Encoding: gzip
              fail_if_body_not_matches_regexp: ['^(0123456789){100}']
              preferred_ip_protocol: ip4
          http_gzip_unasked:
            prober: http
            http:
              compression: gzip
              preferred_ip_protocol: ip4
          dns_tls:
            prober: dns
            timeout: 3s
            dns:
              query_name: www.test
              query_type: A
              transport_protocol: tcp
              dns_over_tls: true
              tls_config:
                ca_file: \(network.certificateRoot)
                server_name: shop.test
          grpc_tls:
            prober: grpc
            grpc:
              tls: true
              preferred_ip_protocol: ip4
              tls_config:
                ca_file: \(network.certificateRoot)
                server_name: shop.test

        """
    }

    @Test("the same probe_success and the same series for every module and target")
    func sameAnswers() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-blackbox-side-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { _ = system("kill $(cat \(folder)/blackbox.pid) 2>/dev/null; rm -rf \(folder)") }
        let file = folder + "/blackbox.yml"
        try configuration(folder: folder).write(toFile: file, atomically: true, encoding: .utf8)
        // Read by both when they load the file.
        try "s3cret\n".write(toFile: folder + "/password.txt", atomically: true, encoding: .utf8)

        let check = try Shell.capture(["prometheus-blackbox-exporter", "--config.file=\(file)", "--config.check"])
        #expect(check.status == 0, "blackbox itself accepts the file: \(check.output) \(check.error)")
        let sondeCheck = try await Sonde.run(["serve", "--check", "--modules", file], in: network.client)
        #expect(sondeCheck.status == 0 && sondeCheck.output.contains("28 modules from \(file)"), "\(sondeCheck.output) \(sondeCheck.error)")

        #expect(
            system(
                "ip netns exec \(network.client) prometheus-blackbox-exporter --config.file=\(file) "
                    + "--web.listen-address=127.0.0.1:19117 --log.level=warn >/dev/null 2>&1 & echo $! > \(folder)/blackbox.pid") == 0)
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_320, arguments: ["--modules", file])
        try await server.waitUntilServing()

        let cases: [(module: String, target: String, success: Bool)] = [
            ("http_2xx", "http://10.77.2.2/", true),
            ("http_2xx", "10.77.2.2/down", false),
            ("http_post_echo", "http://10.77.2.2/echo", true),
            ("http_body_fails", "http://10.77.2.2/", false),
            ("https_trusted", "https://10.77.2.2:8443/", true),
            ("https_trusted", "https://10.77.2.2:8446/", false),
            ("https_insecure", "https://10.77.2.2:8444/", true),
            ("tcp_connect", "10.77.2.2:80", true),
            ("tcp_connect", "10.77.2.2:81", false),
            ("tls_banner", "10.77.2.2:9993", true),
            ("imap_starttls", "10.77.2.2:143", true),
            ("icmp", "10.77.2.2", true),
            ("dns_a", "10.77.2.2", true),
            ("dns_nodata", "10.77.2.2", true),
            ("dns_nxdomain", "10.77.2.2", false),
            ("http_host_header", "http://10.77.2.2/echo", true),
            ("http_hostname", "http://10.77.2.2/echo&hostname=www.shop.test", true),
            ("http_hostname", "http://10.77.2.2/echo", false),
            ("http_h2_only", "http://10.77.2.2/", false),
            ("http_h2_only", "https://10.77.2.2:8451/", true),
            ("http_not_nginx", "http://10.77.2.2/", false),
            ("http_bodies_required", "http://10.77.2.2/", true),
            ("http_bodies_one_missing", "http://10.77.2.2/", false),
            ("http_headers_checked", "http://10.77.2.2/", true),
            ("http_password_file", "http://10.77.2.2/echo", true),
            ("dns_validated", "10.77.2.2", true),
            ("dns_validated_fails", "10.77.2.2", false),
            ("grpc_plain", "10.77.2.2:50051", true),
            ("grpc_plain", "10.77.2.2:50099", false),
            ("grpc_down", "10.77.2.2:50051", false),
            ("grpc_tls", "10.77.2.2:50052", true),
            ("http_gzip", "http://10.77.2.2/gzip", true),
            // Not gzip: nginx compresses nothing for a client that does not ask, and index.html never.
            ("http_gzip", "http://10.77.2.2/", false),
            ("http_gzip_unasked", "http://10.77.2.2/gzip", false),
            ("dns_tls", "10.77.2.2", true),
            ("dns_tls", "10.77.2.2:53", false),
        ]
        for (module, target, success) in cases {
            let path = "/probe?module=\(module)&target=\(target)"
            var blackbox = ""
            for _ in 0..<50 {
                let fetched = try? Shell.capture(["ip", "netns", "exec", network.client, "curl", "-sS", "-m", "10", "http://127.0.0.1:19117" + path])
                blackbox = fetched?.output ?? ""
                if blackbox.contains("probe_success") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let sonde = try await server.request("GET", path)
            let theirs = PrometheusText.series(blackbox)
            let ours = PrometheusText.series(sonde.body)
            #expect(theirs["probe_success"] == (success ? 1 : 0), "blackbox, \(module) \(target): \(blackbox)")
            #expect(ours["probe_success"] == theirs["probe_success"], "\(module) \(target): sonde \(sonde.body)")
            // blackbox's last-modified series aside (nginx sends the header for its static pages only).
            let missing = PrometheusText.missing(in: sonde.body, from: blackbox) { !$0.hasPrefix("probe_http_last_modified") }
            #expect(missing.isEmpty, "\(module) \(target): missing \(missing)")
        }

        // Where they differ, on purpose: blackbox 0.23's grpc prober rejoins an IPv6 literal without brackets
        // (`fd00:77:2::2:50051`) and fails to dial; Sonde checks the server that is there.
        let ipv6 = "/probe?module=grpc_plain&target=[fd00:77:2::2]:50051"
        let theirs = try Shell.capture(["ip", "netns", "exec", network.client, "curl", "-sS", "-g", "-m", "10", "http://127.0.0.1:19117" + ipv6])
        #expect(PrometheusText.series(theirs.output)["probe_success"] == 0, "blackbox: \(theirs.output)")
        let ours = try await server.request("GET", ipv6)
        #expect(PrometheusText.series(ours.body)["probe_success"] == 1, "sonde: \(ours.body)")

        // hostname= that contradicts the module's Host header is a 400, as in blackbox; one that is no host name too.
        let conflict = "/probe?module=http_host_header&target=http://10.77.2.2/echo&hostname=other.test"
        let theirConflict = try Shell.capture(
            [
                "ip", "netns", "exec", network.client, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                "http://127.0.0.1:19117" + conflict,
            ])
        #expect(theirConflict.output == "400", "blackbox: \(theirConflict.output)")
        let ourConflict = try await server.request("GET", conflict)
        #expect(ourConflict.status == 400 && ourConflict.body.contains("hostname_conflict"), "\(ourConflict.body)")
        let notAHost = try await server.request("GET", "/probe?module=http_hostname&target=http://10.77.2.2/&hostname=a%20b%0d%0aX-Evil:%201")
        #expect(notAHost.status == 400 && notAHost.body.contains("invalid_hostname"), "\(notAHost.body)")
        #expect(await server.terminate() == 0)
    }
}
