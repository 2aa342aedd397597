import SondeCore
import SondeTLS
import Testing

@testable import HTTPProbe

/// The HTTP probe's pieces: URLs and redirect resolution, status ranges, header lines, the plan's refusals, the
/// policy. The whole probe against a real nginx is in `IntegrationTests/HTTPIntegrationTests`.
@Suite("HTTP probe")
struct HTTPProbeTests {
    @Test(
        "URLs: scheme, host, default and given ports, path and query; a fragment is dropped",
        arguments: [
            ("http://example.test", "example.test", 80, "/", "http://example.test/"),
            ("HTTP://Example.TEST:8080/a/b?c=d#frag", "example.test", 8080, "/a/b?c=d", "http://example.test:8080/a/b?c=d"),
            ("http://10.0.0.7?x=1", "10.0.0.7", 80, "/?x=1", "http://10.0.0.7/?x=1"),
            ("http://[fd00::7]:8443/healthz", "fd00::7", 8443, "/healthz", "http://[fd00::7]:8443/healthz"),
            ("https://example.test/", "example.test", 443, "/", "https://example.test/"),
            ("example.test:8080/healthz", "example.test", 8080, "/healthz", "http://example.test:8080/healthz"),
        ])
    func urls(text: String, host: String, port: Int, path: String, written: String) throws {
        let target = try HTTPTarget(text)
        #expect(target.host == host && Int(target.port) == port && target.path == path)
        #expect(target.description == written)
    }

    @Test(
        "malformed URLs are refused, saying what is wrong",
        arguments: [
            ("", "expected http://HOST[:PORT][/PATH]"),
            ("gopher://example.test/", "the scheme 'gopher' is not http or https"),
            ("http://", "no host"),
            ("http://fd00::1/", "write an IPv6 address in brackets"),
            ("http://[10.0.0.1]/", "is not an IPv6 address"),
            ("http://example.test:0/", "the port '0' is not a number from 1 to 65535"),
            ("http://example.test:http/", "the port 'http' is not a number"),
            ("http://a:b@example.test/", "credentials in the URL are not sent"),
            ("http://example.test/a b", "must be percent-encoded"),
            ("http://example.test/é", "must be percent-encoded"),
            ("http://a[b/", "'a[b' is not a host name"),
            ("http://exa_mple..test/", "is not a host name"),
            ("http://[fe80::1%25eth0]/", "a zone (%…) in the address is not supported"),
        ])
    func malformed(text: String, message: String) {
        let error = #expect(throws: ProbeError.self) { try HTTPTarget(text) }
        #expect(error?.code == .invalidTarget && error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test(
        "a Location resolves against the URL it came from (RFC 3986 §5.2)",
        arguments: [
            ("http://a.test/b/c?q", "http://other.test:81/x", "http://other.test:81/x"),
            ("http://a.test/b/c?q", "//other.test/y", "http://other.test/y"),
            ("http://a.test/b/c?q", "/d", "http://a.test/d"),
            ("http://a.test/b/c?q", "d", "http://a.test/b/d"),
            ("http://a.test/b/c?q", "../d/./e", "http://a.test/d/e"),
            ("http://a.test/b/c?q", "?r", "http://a.test/b/c?r"),
            ("http://a.test:8080/b/", "c#frag", "http://a.test:8080/b/c"),
        ])
    func locations(base: String, location: String, resolved: String) throws {
        #expect(try HTTPTarget(base).resolving(location).description == resolved)
    }

    @Test("status ranges: codes and ranges, comma-separated, from 100 to 599")
    func statusRanges() throws {
        let ranges = try StatusRanges("200-299, 301,418")
        #expect(ranges.contains(204) && ranges.contains(301) && ranges.contains(418))
        #expect(!ranges.contains(300) && !ranges.contains(500))
        #expect(ranges.description == "200-299,301,418")
        for bad in ["", "abc", "99", "600", "300-200", "200-", ","] {
            #expect(throws: ProbeError.self, "\(bad)") { try StatusRanges(bad) }
        }
    }

    @Test("header lines: a token, a colon, a value without control characters; Sonde's own headers are refused")
    func headerLines() throws {
        let spec = try #require(HTTPProbe().descriptor.parameter(named: "header"))
        #expect(throws: Never.self) { try spec.validate(.string("Accept: text/plain\nX-Trace-Id: abc\tdef")) }
        for bad in ["NoColon", ": empty name", "Bad Name: x", "X-A: 1\r\nX-B: 2", "X-A: \u{0}"] {
            #expect(throws: ParameterError.self, "\(bad)") { try spec.validate(.string(bad)) }
        }
        let lines = try HTTPPlan.headerLines("Accept: text/plain\nX-Empty:", parameter: "header")
        #expect(lines.map(\.name) == ["Accept", "X-Empty"] && lines.map(\.value) == ["text/plain", ""])
        for reserved in ["Host: evil.test", "content-length: 5", "Connection: keep-alive", "Transfer-Encoding: chunked"] {
            #expect(throws: ProbeError.self, "\(reserved)") { try HTTPPlan.headerLines(reserved, parameter: "header") }
        }
    }

    @Test("the plan: POST with data, HEAD with -I, --resolve and --connect-to, the server name; contradictions refused")
    func plan() throws {
        let probe = HTTPProbe()
        func plan(_ target: String, _ values: [String: ParameterValue]) throws -> HTTPPlan {
            try HTTPPlan(ProbeRequest(target: target, parameters: try probe.descriptor.validate(values)))
        }
        #expect(try plan("http://a.test/", [:]).method == "GET")
        #expect(try plan("http://a.test/", ["data": .string("x=1")]).method == "POST")
        #expect(try plan("http://a.test/", ["data": .string("x=1"), "method": .string("PUT")]).method == "PUT")
        #expect(try plan("http://a.test/", ["head": .boolean(true)]).method == "HEAD")
        let resolving = try plan("http://a.test/", ["resolve": .string("a.test:80:10.0.0.7,b.test:8080:[fd00::8]")])
        #expect(resolving.override(host: "A.test", port: 80) == IPAddress("10.0.0.7"))
        #expect(resolving.override(host: "b.test", port: 8080) == IPAddress("fd00::8"))
        #expect(resolving.override(host: "a.test", port: 81) == nil)
        let connecting = try plan(
            "https://shop.test/", ["connectTo": .string("shop.test:443:10.0.0.7:8443,::backend.test:,[fd00::1]:80:[fd00::2]:")])
        #expect(connecting.connection(for: try HTTPTarget("https://Shop.test/")) == ("10.0.0.7", 8443))
        #expect(connecting.connection(for: try HTTPTarget("http://shop.test:8080/")) == ("backend.test", 8080), "any host, any port")
        #expect(connecting.connection(for: try HTTPTarget("http://[fd00::1]/")) == ("backend.test", 80), "the first that matches wins")
        #expect(try plan("http://a.test/", [:]).connection(for: try HTTPTarget("http://a.test:81/")) == ("a.test", 81))
        #expect(
            try plan("http://x/", ["connectTo": .string("[fd00::1]:80:[fd00::2]:")]).connection(for: try HTTPTarget("http://[fd00::1]/")) == (
                "fd00::2", 80
            ))
        for bad in ["a.test:80:b.test", "a.test:80:b.test:99999", "a.test:x:b.test:80", "[fd00::1:80:b:80", "a b:80:c:80"] {
            #expect(throws: ProbeError.self, "\(bad)") { try plan("http://a.test/", ["connectTo": .string(bad)]) }
        }
        #expect(throws: ProbeError.self) { try plan("http://a.test/", ["head": .boolean(true), "method": .string("GET")]) }
        #expect(throws: ProbeError.self) { try plan("http://a.test/", ["resolve": .string("a.test:80")]) }
        #expect(throws: ProbeError.self) { try plan("http://a.test/", ["expectHeader": .string("no colon")]) }
        #expect(try plan("https://a.test/", ["insecure": .boolean(true), "servername": .string("B.test")]).tls.serverName == "b.test")
    }

    @Test("the policy decides before anything is sent; content parameters never go to this host's own addresses")
    func policy() async throws {
        let probe = HTTPProbe()
        let denied = ProbeContext(policy: AddressPolicy(deny: [.init(IPNetwork("10.0.0.0/8")!, reason: "test")]))
        let request = ProbeRequest(target: "http://10.0.0.7/", parameters: try probe.descriptor.validate([:]))
        let refusal = await #expect(throws: ProbeError.self) { _ = try await probe.run(request, context: denied) { _ in } }
        #expect(refusal?.code == .targetDenied)

        let values = try probe.descriptor.validate(["header": .string("X-A: 1")])
        let local = ProbeContext(policy: AddressPolicy(), contentParameters: ["header"])
        let content = await #expect(throws: ProbeError.self) {
            _ = try await probe.run(ProbeRequest(target: "http://127.0.0.1:9/", parameters: values), context: local) { _ in }
        }
        #expect(content?.code == .targetDenied)
    }

    @Test("metrics carry blackbox_exporter's names, the phases labelled")
    func metrics() {
        var summary = HTTPSummary()
        summary.last = .init(
            status: 200, httpVersion: "HTTP/1.1", redirects: 1, bodyBytes: 12,
            phases: HTTPPhases(resolveMs: 1, connectMs: 2, processingMs: 3, transferMs: 4, totalMs: 10), failedDueToRegex: false)
        let samples = summary.metricSamples
        #expect(samples.first { $0.name == "probe_http_status_code" }?.value == 200)
        #expect(samples.first { $0.name == "probe_http_version" }?.value == 1.1)
        #expect(samples.first { $0.name == "probe_http_redirects" }?.value == 1)
        let phases = samples.filter { $0.name == "probe_http_duration_seconds" }
        #expect(Set(phases.compactMap { $0.labels["phase"] }) == ["resolve", "connect", "tls", "processing", "transfer"])
        #expect(phases.first { $0.labels["phase"] == "processing" }?.value == 0.003)
        // Go's ContentLength: -1 for an answer without the header (chunked); the header's value otherwise.
        #expect(samples.first { $0.name == "probe_http_content_length" }?.value == -1)
        #expect(samples.first { $0.name == "probe_http_uncompressed_body_length" }?.value == 12)
        summary.last?.contentLength = 12
        #expect(summary.metricSamples.first { $0.name == "probe_http_content_length" }?.value == 12)
        summary.last?.httpVersion = "HTTP/2"
        #expect(summary.metricSamples.first { $0.name == "probe_http_version" }?.value == 2)
    }
}
