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
        let expectedRefusals = ["module http_with_proxy: line 34: http.proxy_url"]
        #expect(refused.count == expectedRefusals.count, "\(refused)")
        for expected in expectedRefusals {
            #expect(refused.contains { $0.hasPrefix(expected) }, "\(expected) in \(refused)")
        }
        let loaded = Set(read.modules.keys)
        #expect(
            loaded == [
                "http_2xx_example", "http_post_2xx", "http_basic_auth_example", "http_custom_ca_example", "tls_connect", "tcp_connect_example",
                "imap_starttls",
                "smtp_starttls", "irc_banner_example", "icmp_example", "dns_udp_example", "dns_soa", "dns_tcp_example", "http_gzip",
                "http_gzip_with_accept_encoding",
            ])
        #expect(read.modules["http_gzip"]?.parameters["compression"] == .string("gzip"))
        #expect(read.modules["http_gzip_with_accept_encoding"]?.parameters["header"] == .list(["Accept-Encoding: gzip"]))
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
        #expect(read.modules["http_basic_auth_example"]?.parameters["header"] == .list(["Authorization: Basic dXNlcm5hbWU6bXlzZWNyZXQ="]))
        #expect(read.modules["http_basic_auth_example"]?.hostname == "login.example.com", "a Host header is the name the request carries")
        #expect(
            read.modules["dns_udp_example"]?.parameters["validate"]
                == .list([
                    "answer fail-if-matches .*127.0.0.1", "answer fail-if-all-match .*127.0.0.1",
                    "answer fail-if-not-matches www.prometheus.io.\\t300\\tIN\\tA\\t127.0.0.1", "answer fail-if-none-matches 127.0.0.1",
                    "authority fail-if-matches .*127.0.0.1", "additional fail-if-matches .*127.0.0.1",
                ]), "YAML's tabs become RE2's \\t")
        let example = try #require(read.modules["http_2xx_example"])
        #expect(example.hostname == "vhost.example.com")
        #expect(example.parameters["failHeader"] == .list(["Set-Cookie: .*"]))
        #expect(example.parameters["expectHeader"] == .list(["Access-Control-Allow-Origin: (\\*|example\\.com)"]))
        #expect(example.parameters["expectVersion"] == .string("HTTP/1.1,HTTP/2.0"))
        #expect(example.parameters["family"] == .string("ipv4"))
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
    func refusals() throws {
        let cases: [(String, String)] = [
            ("x: {prober: http, http: {colour: red}}", "module x: line 2: unknown key http.colour"),
            ("x: {prober: http, http: {method: POST}, tcp: {}}", "module x: line 2: tcp: the module's prober is http"),
            ("x: {prober: ping}", "module x: line 2: prober: expected one of icmp, tcp, http, dns"),
            ("x: {prober: icmp, icmp: {ttl: 300}}", "module x: invalid value '300' for ttl"),
            ("x: {prober: icmp, icmp: {preferred_ip_protocol: ip5}}", "icmp.preferred_ip_protocol: expected ip4 or ip6"),
            ("x: {prober: tcp, tcp: {query_response: [{expect: '('}]}}", "tcp.query_response[].expect: not an RE2 regular expression"),
            (
                "x: {prober: tcp, tcp: {query_response: [{expect: a, expect_bytes: 'a'}]}}",
                "expect_bytes: a step has expect or expect_bytes, not both"
            ),
            ("x: {prober: tcp, tcp: {query_response: [{labels: [{name: a, value: b}]}]}}", "labels: labels name groups of the step's expect"),
            ("x: {prober: tcp, tcp: {query_response: [{expect: a, labels: [{name: __a, value: b}]}]}}", "invalid value 'label:__a=b' for step"),
            ("x: {prober: tcp, tcp: {query_response: [{expect: a, labels: [{value: b}]}]}}", "labels[].name: each label needs a name"),
            ("x: {prober: http, http: {compression: zstd}}", "module x: invalid value 'zstd' for compression"),
            ("x: {prober: http, http: {compression: gzip, headers: {Accept-Encoding: br}}}", "a coding the Accept-Encoding header 'br' asks for"),
            ("x: {prober: http, http: {tls_config: {ca: abc}}}", "module x: invalid value 'abc' for cacertPem: expected PEM text"),
            (
                "x: {prober: tcp, tcp: {tls_config: {ca_file: /ca.pem, ca: \"-----BEGIN CERTIFICATE-----\\n-----END CERTIFICATE-----\"}}}",
                "--cacert FILE or --cacert-pem TEXT, not both"
            ),
            ("x: {prober: dns, dns: {query_name: a.b, dns_over_tls: true}}", "dns.dns_over_tls: DNS over TLS needs transport_protocol: tcp"),
            ("x: {prober: dns, dns: {query_name: a.b, transport_protocol: udp, dns_over_tls: true}}", "needs transport_protocol: tcp"),
            ("x: {prober: tcp, tcp: {tls_config: {min_version: TLS9}}}", "tcp.tls_config.min_version: expected TLS10, TLS11, TLS12 or TLS13"),
            ("x: {prober: tcp, tcp: {tls_config: {min_version: TLS13, max_version: TLS12}}}", "invalid value '1.2' for tlsMax"),
            ("x: {prober: dns, dns: {query_type: A}}", "dns.query_name: a dns module needs query_name"),
            ("x: {prober: dns, dns: {query_name: a.b, query_type: BOGUS}}", "module x: invalid value 'BOGUS' for type"),
            ("x: {prober: http, http: {valid_http_versions: [HTTP/3.0]}}", "http.valid_http_versions: 'HTTP/3.0': Sonde speaks"),
            (
                "x: {prober: http, http: {bearer_token_file: token}}",
                "http.bearer_token_file: files are read only for the modules file sonde serve loads"
            ),
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
        #expect(accepted?.modules["x"]?.parameters["expectVersion"] == .string("HTTP/1.1,HTTP/2.0"))
        #expect(accepted?.modules["x"]?.parameters["failIfTls"] == .boolean(false))

        // query_response's expect_bytes and labels (0.26+, 0.28+), DNS over TLS, compression: in Sonde's terms.
        let newer = try? BlackboxModules(
            yaml: """
                modules:
                  irc:
                    prober: tcp
                    tcp:
                      query_response:
                        - expect: "^:([^ ]+) NOTICE"
                          labels: [{name: server, value: "${1}"}, {name: kind, value: irc}]
                        - expect_bytes: "PING\\x00"
                        - send: "PONG"
                  dot:
                    prober: dns
                    dns: {query_name: www.test, transport_protocol: tcp, dns_over_tls: true, tls_config: {server_name: dns.test}}
                  gzip: {prober: http, http: {compression: GZIP, headers: {Accept-Encoding: "br;q=1.0, gzip;q=0.8"}}}
                """, descriptors: Self.descriptors)
        #expect(
            newer?.modules["irc"]?.parameters["step"]
                == .list(["expect:^:([^ ]+) NOTICE", "label:server=${1}", "label:kind=irc", "expect-bytes:PING\\x00", "send:PONG"]),
            "\(newer?.modules["irc"]?.parameters ?? [:])")
        #expect(newer?.modules["dot"]?.parameters["tls"] == .boolean(true) && newer?.modules["dot"]?.parameters["tcp"] == .boolean(true))
        #expect(newer?.modules["dot"]?.parameters["servername"] == .string("dns.test"))
        #expect(newer?.modules["gzip"]?.parameters["compression"] == .string("gzip"), "blackbox reads the algorithm in any case")

        // Inline PEM (newer prometheus/common): the CA, the client certificate and its key as text; the key never shown.
        let inline = try? BlackboxModules(
            yaml: """
                modules:
                  mtls:
                    prober: http
                    http:
                      tls_config:
                        ca: |
                          -----BEGIN CERTIFICATE-----
                          MIIB
                          -----END CERTIFICATE-----
                        cert: "-----BEGIN CERTIFICATE-----\\nMIIC\\n-----END CERTIFICATE-----\\n"
                        key: "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"
                """, descriptors: Self.descriptors)
        let mtls = try #require(inline?.modules["mtls"])
        #expect(mtls.parameters["cacertPem"] == .string("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
        #expect(mtls.parameters["keyPem"] == .string("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"))
        let shown = try #require(inline).displayed(descriptors: Self.descriptors)
        #expect(shown.contains("<secret>") && !shown.contains("PRIVATE KEY") && shown.contains("MIIC"), "\(shown)")
    }

    @Test("credentials and bodies from files, read at load; http_headers' values, secrets and files")
    func files() throws {
        let contents = ["/etc/bb/password": "s3cret\n", "token": "  tok-1\n", "/run/secrets/key": "k-9", "/etc/bb/body.json": "{\"a\": 1}\n"]
        let files = ModuleFiles { path in
            guard let text = contents[path] else { throw SmallFile.ReadError(description: "No such file or directory") }
            return Array(text.utf8)
        }
        let yaml = """
            modules:
              basic: {prober: http, http: {basic_auth: {username: u, password_file: /etc/bb/password}}}
              bearer: {prober: http, http: {bearer_token_file: token}}
              credentials: {prober: http, http: {authorization: {type: Token, credentials_file: /run/secrets/key}}}
              body: {prober: http, http: {method: POST, body_file: /etc/bb/body.json}}
              headers:
                prober: http
                http:
                  http_headers:
                    X-Plain: {values: [a, b]}
                    X-Key: {secrets: [hidden], files: [/run/secrets/key]}
              checks:
                prober: http
                http:
                  fail_if_ssl: true
                  valid_http_versions: [HTTP/2.0]
                  fail_if_header_matches: [{header: Server, regexp: '^nginx', allow_missing: true}]
              missing: {prober: http, http: {bearer_token_file: nowhere}}
            """
        let read = try BlackboxModules.read(yaml: yaml, descriptors: Self.descriptors, files: files)
        #expect(read.modules["basic"]?.parameters["header"] == .list(["Authorization: Basic " + Data("u:s3cret".utf8).base64EncodedString()]))
        #expect(
            read.modules["bearer"]?.parameters["header"] == .list(["Authorization: Bearer tok-1"]), "the whitespace around a secret is not part of it"
        )
        #expect(read.modules["credentials"]?.parameters["header"] == .list(["Authorization: Token k-9"]))
        #expect(read.modules["body"]?.parameters["data"] == .string("{\"a\": 1}\n"), "a body is sent as the file has it")
        #expect(read.modules["headers"]?.parameters["header"] == .list(["X-Plain: a", "X-Plain: b", "X-Key: hidden", "X-Key: k-9"]))
        let checks = try #require(read.modules["checks"])
        #expect(checks.parameters["failIfTls"] == .boolean(true))
        #expect(checks.parameters["expectVersion"] == .string("HTTP/2.0"))
        #expect(checks.parameters["failHeader"] == .list(["Server: ^nginx"]))
        let headers = try BlackboxModules(
            yaml: """
                modules:
                  x:
                    prober: http
                    http:
                      fail_if_header_not_matches:
                        - {header: Content-Type, regexp: '^text/'}
                        - {header: X-Cache, regexp: HIT, allow_missing: true}
                        - {header: Server, regexp: nginx}
                      fail_if_header_matches: [{header: Set-Cookie, regexp: '.*'}, {header: X-Debug, regexp: on}]
                """, descriptors: Self.descriptors)
        #expect(headers.modules["x"]?.parameters["expectHeader"] == .list(["Content-Type: ^text/", "Server: nginx"]))
        #expect(headers.modules["x"]?.parameters["expectHeaderIfPresent"] == .list(["X-Cache: HIT"]))
        #expect(headers.modules["x"]?.parameters["failHeader"] == .list(["Set-Cookie: .*", "X-Debug: on"]))
        let bodies = try BlackboxModules(
            yaml: "modules:\n  x: {prober: http, http: {fail_if_body_not_matches_regexp: [a, b], fail_if_body_matches_regexp: [c, d]}}\n",
            descriptors: Self.descriptors)
        #expect(bodies.modules["x"]?.parameters["expectBody"] == .list(["a", "b"]), "each must match")
        #expect(bodies.modules["x"]?.parameters["failBody"] == .list(["c", "d"]), "any one fails")
        #expect(throws: SettingsError.self) {
            try BlackboxModules(
                yaml: "modules:\n  x: {prober: http, http: {fail_if_body_matches_regexp: [ok, '(']}}\n", descriptors: Self.descriptors)
        }
        let bounded = try BlackboxModules(
            yaml: "modules:\n  x: {prober: http, http: {tls_config: {min_version: TLS12, max_version: TLS13}}}\n", descriptors: Self.descriptors)
        #expect(bounded.modules["x"]?.parameters["tlsMin"] == .string("1.2") && bounded.modules["x"]?.parameters["tlsMax"] == .string("1.3"))
        #expect(read.errors.map(\.description) == ["module missing: line 18: http.bearer_token_file: cannot read nowhere: No such file or directory"])
    }
}

@Suite("blackbox's hostname")
struct BlackboxHostnameTests {
    static func module(_ yaml: String) throws -> BlackboxModules.Module {
        let modules = try BlackboxModules(yaml: yaml, descriptors: BlackboxConfigurationTests.descriptors)
        return try #require(modules.modules["m"])
    }

    @Test("http: the URL names the host, --connect-to sends it to the target; from hostname= or the module's Host header")
    func http() throws {
        let plain = try Self.module("modules:\n  m: {prober: http}\n")
        let named = plain.addressing("http://10.0.0.7:8080/health?x=1", hostname: "shop.test")
        #expect(named.target == "http://shop.test:8080/health?x=1")
        #expect(named.parameters == ["connectTo": .string("shop.test:8080:10.0.0.7:8080")])
        let v6 = plain.addressing("[fd00::7]/x", hostname: "shop.test")
        #expect(v6.target == "http://shop.test/x")
        #expect(v6.parameters == ["connectTo": .string("shop.test:80:[fd00::7]:80")])
        #expect(plain.addressing("https://10.0.0.7", hostname: "fd00::9").parameters == ["connectTo": .string("[fd00::9]:443:10.0.0.7:443")])
        #expect(plain.addressing("http://10.0.0.7/", hostname: nil).parameters.isEmpty)
        #expect(plain.addressing("http://user@10.0.0.7/", hostname: "shop.test").target == "http://user@10.0.0.7/", "left to the probe to refuse")

        let header = try Self.module("modules:\n  m:\n    prober: http\n    http:\n      headers: {Host: shop.test, Accept: text/plain}\n")
        #expect(header.hostname == "shop.test")
        #expect(header.parameters["header"] == .list(["Accept: text/plain"]), "the Host header is the URL's, not a header line")
        #expect(header.addressing("10.0.0.7", hostname: nil).target == "http://shop.test")
        #expect(throws: SettingsError.self) { try Self.module("modules:\n  m:\n    prober: http\n    http:\n      headers: {Host: 'a b'}\n") }
    }

    @Test("tcp: the TLS name, unless the module sets one; other probes take none")
    func others() throws {
        let tcp = try Self.module("modules:\n  m: {prober: tcp, tcp: {tls: true}}\n")
        #expect(tcp.addressing("10.0.0.7:993", hostname: "imap.test").parameters == ["servername": .string("imap.test")])
        let fixed = try Self.module("modules:\n  m: {prober: tcp, tcp: {tls: true, tls_config: {server_name: own.test}}}\n")
        #expect(fixed.addressing("10.0.0.7:993", hostname: "imap.test").parameters.isEmpty)
        let dns = try Self.module("modules:\n  m: {prober: dns, dns: {query_name: a.test}}\n")
        #expect(dns.addressing("10.0.0.7", hostname: "x.test").parameters.isEmpty)
    }
}
