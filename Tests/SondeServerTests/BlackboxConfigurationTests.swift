import Foundation
import GRPCProbe
import HTTPProbe
import SondeCore
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// blackbox_exporter's own configuration files, read unchanged: every option honoured or refused by name.
@Suite("blackbox.yml as it is")
struct BlackboxConfigurationTests {
    static let descriptors = TestServer.configuration.descriptors(of: TestServer.registry) + [HTTPProbe().descriptor, GRPCProbe().descriptor]

    /// The example files Debian's prometheus-blackbox-exporter ships (installed by Scripts/install-dependencies).
    static let debianExamples = "/usr/share/doc/prometheus-blackbox-exporter/examples"

    /// One of those files, read unchanged; a missing one is a failure that says how to get it.
    static func debianExample(_ name: String) -> String? {
        let path = debianExamples + "/" + name
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Issue.record("\(path) is missing: run Scripts/install-dependencies (prometheus-blackbox-exporter)")
            return nil
        }
        return text
    }

    @Test("Debian's example.yml: every module Sonde can run loads; the others are refused naming the module and the key")
    func debianExample() throws {
        guard let text = Self.debianExample("example.yml") else { return }
        let read = try BlackboxModules.read(yaml: text, descriptors: Self.descriptors)
        let refused = read.errors.map(\.description)
        let expectedRefusals = [
            "module http_2xx_example: line 20: http.fail_if_header_matches",
            "module http_with_proxy: line 34: http.proxy_url",
            "module http_gzip: line 64: http.compression",
            "module http_gzip_with_accept_encoding: line 69: http.compression",
            "module dns_udp_example: line 129: dns.validate_answer_rrs",
        ]
        #expect(refused.count == expectedRefusals.count, "\(refused)")
        for expected in expectedRefusals {
            #expect(refused.contains { $0.hasPrefix(expected) }, "\(expected) in \(refused)")
        }
        let loaded = Set(read.modules.keys)
        #expect(
            loaded == [
                "http_post_2xx", "http_basic_auth_example", "http_custom_ca_example", "tls_connect", "tcp_connect_example", "imap_starttls",
                "smtp_starttls", "irc_banner_example", "icmp_example", "dns_soa", "dns_tcp_example",
            ])
        #expect(
            read.modules["smtp_starttls"]?.parameters["step"]?.description.hasPrefix("expect:^220 ([^ ]+) ESMTP (.+)$\nsend:EHLO prober\\r\n")
                == true,
            "blackbox's carriage return becomes Sonde's \\r escape")

        let post = try #require(read.modules["http_post_2xx"])
        #expect(post.probe.rawValue == "http")
        #expect(post.timeout == .seconds(5))
        #expect(post.parameters["method"] == .string("POST"))
        #expect(post.parameters["header"] == .list(["Content-Type: application/json"]))
        #expect(post.parameters["data"] == .string("{}"))
        #expect(post.parameters["family"] == .string("prefer-ipv6"), "blackbox's default: IPv6 first, then IPv4")
        #expect(post.probeTarget(for: "example.com/health") == "http://example.com/health", "blackbox adds http:// to a bare target")
        #expect(
            read.modules["http_basic_auth_example"]?.parameters["header"]
                == .list(["Host: login.example.com", "Authorization: Basic dXNlcm5hbWU6bXlzZWNyZXQ="]))
        #expect(read.modules["http_custom_ca_example"]?.parameters["cacert"] == .string("/certs/my_cert.crt"))

        let irc = try #require(read.modules["irc_banner_example"])
        #expect(
            irc.parameters["step"]
                == .list([
                    "send:NICK prober", "send:USER prober prober prober :prober", "expect:PING :([^ ]+)", "send:PONG ${1}", "expect:^:[^ ]+ 001",
                ]))
        #expect(read.modules["imap_starttls"]?.parameters["step"]?.description.contains("starttls") == true)
        #expect(read.modules["tls_connect"]?.parameters["tls"] == .boolean(true))

        let icmp = try #require(read.modules["icmp_example"])
        #expect(icmp.probe.rawValue == "ping")
        #expect(icmp.parameters["count"] == .integer(1), "one echo request, as blackbox")
        #expect(icmp.parameters["family"] == .string("prefer-ipv4"))
        #expect(icmp.parameters["interface"] == .string("127.0.0.1"))

        let dns = try #require(read.modules["dns_tcp_example"])
        #expect(dns.targetParameter == "server")
        #expect(dns.probeTarget(for: "10.0.0.53") == "www.prometheus.io", "the target is the server, the name the module's")
        #expect(dns.parameters["tcp"] == .boolean(true))
        #expect(dns.parameters["type"] == .string("ANY"), "blackbox's default query type")
        #expect(dns.parameters["requireAnswer"] == .boolean(false), "blackbox judges the response code alone")
        #expect(read.modules["dns_soa"]?.parameters["type"] == .string("SOA"))
    }

    @Test("Debian's own blackbox.yml: every module loads, the grpc ones as Sonde's grpc probe")
    func debianDefault() throws {
        guard let text = Self.debianExample("blackbox.yml") else { return }
        let read = try BlackboxModules.read(yaml: text, descriptors: Self.descriptors)
        #expect(read.errors.isEmpty, "\(read.errors)")
        #expect(
            Set(read.modules.keys) == [
                "http_2xx", "http_post_2xx", "tcp_connect", "pop3s_banner", "grpc", "grpc_plain", "ssh_banner", "irc_banner", "icmp", "icmp_ttl5",
            ])
        let grpc = try #require(read.modules["grpc"])
        #expect(grpc.probe == "grpc")
        #expect(grpc.parameters == ["tls": .boolean(true), "family": .string("prefer-ipv4")])
        #expect(read.modules["grpc_plain"]?.parameters == ["tls": .boolean(false), "service": .string("service1"), "family": .string("prefer-ipv6")])
        #expect(read.modules["pop3s_banner"]?.parameters["step"] == .list(["expect:^+OK"]))
        #expect(read.modules["icmp_ttl5"]?.parameters["ttl"] == .integer(5))
    }

    @Test("unknown keys, wrong types and values out of range name the module, the line and the key")
    func refusals() {
        let cases: [(String, String)] = [
            ("x: {prober: http, http: {colour: red}}", "module x: line 2: unknown key http.colour"),
            ("x: {prober: http, http: {method: POST}, tcp: {}}", "module x: line 2: tcp: the module's prober is http"),
            ("x: {prober: ping}", "module x: line 2: prober: expected one of icmp, tcp, http, dns"),
            ("x: {prober: icmp, icmp: {ttl: 300}}", "module x: invalid value '300' for ttl"),
            ("x: {prober: icmp, icmp: {preferred_ip_protocol: ip5}}", "icmp.preferred_ip_protocol: expected ip4 or ip6"),
            ("x: {prober: tcp, tcp: {query_response: [{expect: '('}]}}", "tcp.query_response[].expect: not an RE2 regular expression"),
            ("x: {prober: tcp, tcp: {query_response: [{expect_bytes: 'a'}]}}", "tcp.query_response[].expect_bytes: exact byte matches"),
            ("x: {prober: tcp, tcp: {tls_config: {min_version: TLS12}}}", "tcp.tls_config.min_version: TLS version bounds"),
            ("x: {prober: dns, dns: {query_type: A}}", "dns.query_name: a dns module needs query_name"),
            ("x: {prober: dns, dns: {query_name: a.b, query_type: BOGUS}}", "module x: invalid value 'BOGUS' for type"),
            ("x: {prober: http, http: {fail_if_ssl: true}}", "http.fail_if_ssl: fail_if_ssl: true is not in Sonde yet"),
            ("x: {prober: http, http: {valid_http_versions: [HTTP/1.1]}}", "http.valid_http_versions: Sonde does not check"),
            ("x: {prober: http, http: {body_size_limit: lots}}", "http.body_size_limit: expected a size"),
            ("x: {prober: http, timeout: 2 days}", "module x: line 2: invalid timeout '2 days'"),
            ("x: {prober: http, http: {follow_redirects: maybe}}", "http.follow_redirects: expected true or false"),
        ]
        for (module, message) in cases {
            let error = #expect(throws: SettingsError.self) { try BlackboxModules(yaml: "modules:\n  " + module, descriptors: Self.descriptors) }
            #expect(error?.description.contains(message) == true, "\(module): \(error?.description ?? "")")
        }
        // Allowed: the defaults written out, a list of both versions, Go durations, byte sizes.
        let accepted = try? BlackboxModules(
            yaml: """
                modules:
                  x: {prober: http, timeout: 1m30s, http: {fail_if_ssl: false, valid_http_versions: [HTTP/1.1, HTTP/2.0], body_size_limit: 1MiB, enable_http2: false}}
                """, descriptors: Self.descriptors)
        #expect(accepted?.modules["x"]?.timeout == .seconds(90))
        #expect(accepted?.modules["x"]?.parameters["maxBody"] == .integer(1 << 20))
        #expect(accepted?.modules["x"]?.parameters["httpVersion"] == .string("1.1"))
    }
}
