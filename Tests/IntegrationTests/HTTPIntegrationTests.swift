import Foundation
import Testing

/// `sonde http` against a real nginx in the echo namespace (see `TestNetwork.startWebServer`), side by side with curl,
/// and through the sidecar's API and policy.
@Suite("sonde http against nginx", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct HTTPIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func http(_ arguments: String...) async throws -> Sonde.Run {
        try await Sonde.run(["http", "--json"] + arguments, in: network.client)
    }

    func curl(_ arguments: String...) throws -> String {
        try Shell.capture(["ip", "netns", "exec", network.client, "curl", "-sS", "-m", "5"] + arguments).output
    }

    @Test("a 200 with its status, headers and phases, as curl sees it; IPv6 in brackets")
    func answers() async throws {
        let run = try await http("http://10.77.2.2/")
        #expect(run.status == 0, "\(run.error)")
        #expect(run.objects.compactMap { $0["type"] as? String } == ["resolved", "connected", "response", "report"])
        let response = try #require(run.events("response").first)
        #expect(response["status"] as? Int == 200 && response["httpVersion"] as? String == "HTTP/1.1")
        let headers = (response["headers"] as? [[String: String]] ?? []).map { "\($0["name"] ?? ""): \($0["value"] ?? "")" }
        #expect(headers.contains { $0.hasPrefix("Server: nginx") }, "\(headers)")
        let phases = try #require(response["phases"] as? [String: Double])
        let connect = try #require(phases["connectMs"])
        let total = try #require(phases["totalMs"])
        #expect(connect > 0 && total >= connect && phases["processingMs"] != nil && phases["tlsMs"] == nil, "\(phases)")
        // The same status and body length as curl gets.
        let seen = try curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}", "http://10.77.2.2/")
        #expect("\(response["status"] as? Int ?? 0) \(response["bodyBytes"] as? Int ?? -1)" == seen)
        #expect(run.summary["succeeded"] as? Int == 1)

        let six = try await http("http://[fd00:77:2::2]/")
        #expect(six.status == 0 && six.events("connected").first?["address"] as? String == "fd00:77:2::2", "\(six.output)")

        let text = try await Sonde.run(["http", "-c", "2", "-i", "0.2", "http://10.77.2.2/"], in: network.client)
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "* Connected to 10.77.2.2:80 (http://10.77.2.2/)", "\(text.output)")
        #expect(lines.contains("< HTTP/1.1 200 OK") && lines.contains { $0.hasPrefix("< Server: nginx") })
        #expect(
            lines.contains {
                $0.range(
                    of: #"^DNS [0-9.]+ ms \| connect [0-9.]+ ms \| server [0-9.]+ ms \| transfer [0-9.]+ ms \| total [0-9.]+ ms$"#,
                    options: .regularExpression) != nil
            })
        #expect(lines.contains { $0.hasPrefix("seq=2 HTTP/1.1 200 OK, 12 bytes, total ") }, "\(text.output)")
        #expect(lines.contains("2 requests, 2 succeeded, 0% failed, status 200×2"))
        #expect(lines.contains { $0.hasPrefix("total min/avg/max/mdev = ") })
    }

    @Test("redirects are followed hop by hop with -L, each hop resolved, connected and timed")
    func redirects() async throws {
        let followed = try await http("-L", "http://10.77.2.2/moved")
        #expect(followed.status == 0, "\(followed.output)")
        let responses = followed.events("response")
        #expect(responses.map { $0["status"] as? Int } == [301, 200] && responses.map { $0["hop"] as? Int } == [0, 1])
        #expect(followed.events("redirect").first?["location"] as? String == "http://10.77.2.2/index.html")
        #expect((followed.summary["last"] as? [String: Any])?["redirects"] as? Int == 1)

        // To another host and port: the name is resolved for that hop.
        let elsewhere = try await http("-L", "http://10.77.2.2/elsewhere")
        #expect(elsewhere.status == 0, "\(elsewhere.output)")
        let hop = try #require(elsewhere.events("resolved").last)
        #expect(hop["host"] as? String == "dual.test" && hop["hop"] as? Int == 1)
        #expect(elsewhere.events("connected").last?["port"] as? Int == 8080)

        // A chain of three redirects, the second to another name: every hop resolved, connected and answered.
        let chain = try await http("-L", "http://10.77.2.2/hop1")
        #expect(chain.status == 0, "\(chain.output)")
        #expect(chain.events("response").map { $0["status"] as? Int } == [302, 302, 302, 200])
        #expect(chain.events("response").map { $0["hop"] as? Int } == [0, 1, 2, 3])
        #expect(chain.events("resolved").compactMap { $0["host"] as? String } == ["10.77.2.2", "10.77.2.2", "www.shop.test", "www.shop.test"])
        #expect((chain.summary["last"] as? [String: Any])?["redirects"] as? Int == 3)

        // Not followed without -L: a 301 is not a 2xx.
        let unfollowed = try await http("http://10.77.2.2/moved")
        #expect(unfollowed.status == 1 && unfollowed.events("response").first?["status"] as? Int == 301)
        #expect((unfollowed.events("response").first?["failures"] as? [String]) == ["status 301 is not in 200-299"])
    }

    @Test(
        "every failure is named, one request each",
        arguments: [
            (["-L", "http://10.77.2.2/loop"], "redirect_loop"),
            (["-L", "--max-redirs", "0", "http://10.77.2.2/moved"], "too_many_redirects"),
            (["http://10.77.2.2/drop"], "closed"),
            (["http://10.77.2.2:81/"], "refused"),
            (["--max-body", "1000", "http://10.77.2.2/big"], "too_large"),
            (["--connect-timeout", "0.5", "http://10.77.7.9/"], "timeout"),
            (["http://10.77.5.9/"], "unreachable"),
            // A server that accepts and never answers, and one that does not speak HTTP (an SSH banner).
            (["-m", "1", "http://10.77.2.2:7777/"], "timeout"),
            (["http://10.77.2.2:2222/"], "bad_response"),
        ])
    func failures(arguments: [String], outcome: String) async throws {
        let run = try await Sonde.run(["http", "--json"] + arguments, in: network.client)
        #expect(run.status == 1, "\(run.output) \(run.error)")
        let failures = run.events("failure")
        #expect(failures.count == 1 && failures.first?["outcome"] as? String == outcome, "\(run.output)")
        #expect(run.summary["requests"] as? Int == 1 && run.summary["failures"] as? [String: Int] == [outcome: 1])
        // No final answer, no status: a redirect loop's 302s are not the request's status.
        #expect((run.summary["statuses"] as? [String: Int])?.isEmpty == true, "\(run.summary)")
    }

    @Test("status, body and header expectations; headers, body, method, --resolve and --connect-to reach the server")
    func expectations() async throws {
        #expect(try await http("--expect-body", "^hello", "http://10.77.2.2/").status == 0)
        let mismatch = try await http("--expect-body", "^bye", "http://10.77.2.2/")
        #expect(mismatch.status == 1 && (mismatch.summary["last"] as? [String: Any])?["failedDueToRegex"] as? Bool == true)
        #expect(try await http("--fail-body", "hello", "http://10.77.2.2/").status == 1)
        #expect(try await http("--expect-body", "^hello", "--expect-body", "hello", "http://10.77.2.2/").status == 0, "each matches")
        #expect(try await http("--expect-body", "^hello", "--expect-body", "^bye", "http://10.77.2.2/").status == 1, "one does not")
        #expect(try await http("--fail-body", "nothing", "--fail-body", "hello", "http://10.77.2.2/").status == 1, "one matches")
        let badPattern = try await Sonde.run(["http", "--expect-body", "ok", "--expect-body", "(", "http://10.77.2.2/"], in: network.client)
        #expect(badPattern.status == 2 && badPattern.error.contains("invalid value '(' for --expect-body"), "\(badPattern.error)")
        #expect(try await http("--expect-header", "Server: ^nginx/", "http://10.77.2.2/").status == 0)
        #expect(try await http("--expect-header", "X-Missing: .", "http://10.77.2.2/").status == 1)
        #expect(try await http("--expect-status", "503", "http://10.77.2.2/down").status == 0)
        let notNginx = try await http("--fail-header", "Server: ^nginx", "http://10.77.2.2/")
        #expect(notNginx.status == 1, "\(notNginx.output)")
        #expect(try await http("--fail-header", "X-Missing: .", "http://10.77.2.2/").status == 0, "a header that is not there matches nothing")
        #expect(try await http("--expect-header", "Server: ^nginx", "--expect-header", "Content-Type: ^text/html", "http://10.77.2.2/").status == 0)
        #expect(try await http("--expect-header", "Server: ^nginx", "--expect-header", "Content-Type: ^image/", "http://10.77.2.2/").status == 1)
        #expect(try await http("--expect-header-if-present", "X-Missing: never", "http://10.77.2.2/").status == 0, "absent: nothing to match")
        #expect(try await http("--expect-header-if-present", "Server: ^apache", "http://10.77.2.2/").status == 1, "present: must match")
        #expect(try await http("--expect-version", "HTTP/2", "http://10.77.2.2/").status == 1)
        #expect(try await http("--expect-version", "HTTP/1.0,HTTP/1.1", "http://10.77.2.2/").status == 0)
        #expect(try await http("--fail-if-tls", "-k", "https://10.77.2.2:8443/").status == 1)
        #expect(try await http("--fail-if-tls", "http://10.77.2.2/").status == 0)

        // What the server received, as it says it: method, Host, the extra header, the body's length.
        let posted = try await http(
            "-H", "X-Sonde: probe-7", "-H", "Accept: text/plain", "-d", "abc", "--expect-body", "^POST 10.77.2.2 probe-7 3\\n",
            "http://10.77.2.2/echo")
        #expect(posted.status == 0, "\(posted.output)")
        #expect(try await http("-X", "PUT", "--expect-body", "^PUT ", "http://10.77.2.2/echo").status == 0)
        let head = try await http("-I", "http://10.77.2.2/")
        #expect(head.status == 0 && head.events("response").first?["bodyBytes"] as? Int == 0)
        let resolved = try await http("--resolve", "shop.example:80:10.77.2.2", "--expect-body", "^GET shop.example ", "http://shop.example/echo")
        #expect(resolved.status == 0 && resolved.events("resolved").first?["timeMs"] as? Double == 0, "\(resolved.output)")
        // --connect-to: the URL's name in Host and SNI (a name nothing resolves), the connection to another host and port.
        let connected = try await http(
            "--connect-to", "api.shop.test:443:10.77.2.2:8443", "--cacert", network.testRootCA, "-I", "https://api.shop.test/")
        #expect(connected.status == 0, "\(connected.output) \(connected.error)")
        #expect(connected.events("connected").first?["port"] as? Int == 8443, "\(connected.output)")
        #expect((tls(connected)["serverName"] as? String) == "api.shop.test", "\(connected.output)")
        let echoed = try await http("--connect-to", "::10.77.2.2:", "--expect-body", "^GET nowhere.test ", "http://nowhere.test/echo")
        #expect(echoed.status == 0, "\(echoed.output) \(echoed.error)")
    }

    func tls(_ run: Sonde.Run) -> [String: Any] { run.events("tls").first?["tls"] as? [String: Any] ?? [:] }

    func subjects(_ chain: Any?) -> [String] { (chain as? [[String: Any]] ?? []).compactMap { $0["subject"] as? String } }

    @Test("https: version, ALPN, SNI, the chain presented and the chain verified, the TLS phase; names, addresses, wildcards")
    func https() async throws {
        let root = network.testRootCA
        let run = try await http("--cacert", root, "https://shop.test:8443/")
        #expect(run.status == 0, "\(run.output) \(run.error)")
        #expect(run.objects.compactMap { $0["type"] as? String } == ["resolved", "connected", "tls", "response", "report"])
        let facts = tls(run)
        #expect(facts["version"] as? String == "TLSv1.3" && facts["alpn"] as? String == "http/1.1" && facts["serverName"] as? String == "shop.test")
        #expect((facts["problems"] as? [String]) == [] && facts["insecure"] as? Bool == false, "\(facts)")
        #expect(subjects(facts["presented"]) == ["CN=shop.test", "CN=Sonde Test Intermediate"])
        #expect(subjects(facts["verified"]) == ["CN=shop.test", "CN=Sonde Test Intermediate", "CN=Sonde Test Root"])
        let leaf = try #require((facts["presented"] as? [[String: Any]])?.first)
        #expect((leaf["names"] as? [String]) == ["shop.test", "*.shop.test", "10.77.2.2"])
        #expect((89...90).contains(leaf["daysLeft"] as? Double ?? 0) && (leaf["sha256"] as? String)?.count == 64, "\(leaf)")
        let phases = run.events("response").first?["phases"] as? [String: Double] ?? [:]
        #expect((phases["tlsMs"] ?? 0) > 0 && (phases["totalMs"] ?? 0) >= (phases["tlsMs"] ?? 0), "\(phases)")

        // By address: no SNI, the IP name matches; --servername sends one; a wildcard; TLS 1.2 only.
        let byAddress = try await http("--cacert", root, "https://10.77.2.2:8443/")
        #expect(byAddress.status == 0 && tls(byAddress)["serverName"] == nil, "\(byAddress.output)")
        let named = try await http("--cacert", root, "--servername", "shop.test", "https://10.77.2.2:8443/")
        #expect(named.status == 0 && tls(named)["serverName"] as? String == "shop.test")
        #expect(try await http("--cacert", root, "https://www.shop.test:8443/").status == 0)
        let old = try await http("--cacert", root, "https://shop.test:8448/")
        #expect(old.status == 0 && tls(old)["version"] as? String == "TLSv1.2", "\(tls(old))")
        // Version bounds, as curl's --tlsv1.3 and --tls-max: a TLS 1.2-only server is refused; 1.3 is not offered.
        let tooOld = try await http("--cacert", root, "--tls-min", "1.3", "https://shop.test:8448/")
        #expect(tooOld.status == 1 && tooOld.events("failure").first?["outcome"] as? String == "tls", "\(tooOld.output)")
        let capped = try await http("--cacert", root, "--tls-max", "1.2", "https://shop.test:8443/")
        #expect(capped.status == 0 && tls(capped)["version"] as? String == "TLSv1.2", "\(tls(capped))")

        // From http to https with -L: each hop its own connection, the second with TLS.
        let upgraded = try await http("--cacert", root, "-L", "--require-tls", "http://10.77.2.2/secure")
        #expect(upgraded.status == 0 && upgraded.events("tls").first?["hop"] as? Int == 1, "\(upgraded.output)")
        #expect(try await http("--require-tls", "http://10.77.2.2/").status == 1)
        let soon = try await http("--cacert", root, "--min-days-left", "100", "https://shop.test:8443/")
        #expect(soon.status == 1 && (soon.events("response").first?["failures"] as? [String])?.first?.contains("(--min-days-left 100)") == true)

        let text = try await Sonde.run(["http", "--cacert", root, "https://shop.test:8443/"], in: network.client)
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("* TLSv1.3, ALPN http/1.1, SNI shop.test"), "\(text.output)")
        #expect(
            lines.contains {
                $0.hasPrefix("* certificate: CN=shop.test (shop.test, *.shop.test, 10.77.2.2), issuer CN=Sonde Test Intermediate, expires ")
            })
        #expect(lines.contains("* verified: CN=shop.test → CN=Sonde Test Intermediate → CN=Sonde Test Root"))
        #expect(lines.contains { $0.hasPrefix("DNS ") && $0.contains(" | TLS ") && $0.contains(" | server ") }, "\(text.output)")
    }

    @Test(
        "an untrusted certificate: the request fails saying why, and -k goes on and still says it",
        arguments: [
            (8444, true, "expired "),
            (8445, true, "host name mismatch: the certificate is for other.test, not shop.test"),
            (8446, true, "self-signed: CN=shop.test is not a trusted root here"),
            (8447, true, "unknown issuer: nothing trusted here issued it (CN=Sonde Test Intermediate); the server sends no intermediate"),
            (8449, true, "not yet valid: valid from "),
            (8443, false, "unknown issuer: the chain ends at CN=Sonde Test Intermediate, issued by CN=Sonde Test Root, which is not trusted here"),
        ])
    func untrusted(port: Int, trustingTheTestRoot: Bool, problem: String) async throws {
        let trust = trustingTheTestRoot ? ["--cacert", network.testRootCA] : []
        let refused = try await Sonde.run(["http", "--json"] + trust + ["https://shop.test:\(port)/"], in: network.client)
        #expect(refused.status == 1, "\(refused.output)")
        let failure = refused.events("failure").first
        #expect(failure?["outcome"] as? String == "tls" && (failure?["message"] as? String)?.contains(problem) == true, "\(refused.output)")
        #expect((tls(refused)["problems"] as? [String])?.contains { $0.hasPrefix(problem) } == true, "\(tls(refused))")
        #expect(!subjects(tls(refused)["presented"]).isEmpty)

        let insecure = try await Sonde.run(["http", "--json", "-k"] + trust + ["https://shop.test:\(port)/"], in: network.client)
        #expect(insecure.status == 0 && insecure.events("response").first?["status"] as? Int == 200, "\(insecure.output)")
        #expect(tls(insecure)["insecure"] as? Bool == true && (tls(insecure)["problems"] as? [String])?.contains { $0.hasPrefix(problem) } == true)
    }

    @Test("a compressed, chunked body is read to its end and counted as sent, as curl counts it; no Content-Length is -1")
    func chunkedAndCompressed() async throws {
        let run = try await http("-H", "Accept-Encoding: gzip", "http://10.77.2.2/gzip")
        #expect(run.status == 0, "\(run.output)")
        let response = try #require(run.events("response").first)
        let headers = (response["headers"] as? [[String: String]] ?? []).map { "\($0["name"] ?? ""): \($0["value"] ?? "")" }
        #expect(headers.contains("Content-Encoding: gzip") && headers.contains("Transfer-Encoding: chunked"), "\(headers)")
        let seen = try curl("-H", "Accept-Encoding: gzip", "-o", "/dev/null", "-w", "%{size_download}", "http://10.77.2.2/gzip")
        #expect("\(response["bodyBytes"] as? Int ?? -1)" == seen && (Int(seen) ?? 0) < 300_000, "\(seen)")
        let last = run.summary["last"] as? [String: Any]
        #expect(last?["contentLength"] == nil && last?["bodyBytes"] as? Int == Int(seen))
    }

    @Test(
        "--compression decodes the body before it is counted and checked: gzip from nginx, deflate (wrapped and raw) and br from other encoders",
        arguments: [
            (["--compression", "gzip", "-H", "Accept-Encoding: gzip"], "/gzip", "gzip"),
            (["--compression", "deflate"], "/deflate", "deflate"),
            (["--compression", "deflate"], "/deflate-raw", "deflate"),
            (["--compression", "br"], "/br", "br"),
            // curl's --compressed: asks for all three and decodes what Content-Encoding names.
            (["--compressed"], "/gzip", "gzip"),
            (["--compressed"], "/br", "br"),
        ])
    func decoded(arguments: [String], path: String, coding: String) async throws {
        let run = try await Sonde.run(
            ["http", "--json"] + arguments + ["--expect-body", "^(0123456789){100}", "http://10.77.2.2" + path], in: network.client)
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let response = try #require(run.events("response").first)
        #expect(response["bodyBytes"] as? Int == 300_000 && response["contentCoding"] as? String == coding, "\(response)")
        let sent = response["encodedBytes"] as? Int ?? 0
        #expect(sent > 0 && sent < 10_000, "300,000 bytes of one repeated line compress well: \(sent)")
        // What curl downloads, without decoding, is what Sonde counted as sent.
        let seen = try curl("-H", "Accept-Encoding: gzip, deflate, br", "-o", "/dev/null", "-w", "%{size_download}", "http://10.77.2.2" + path)
        #expect("\(sent)" == seen, "curl: \(seen)")
        let metrics = run.summary["last"] as? [String: Any]
        #expect(metrics?["bodyBytes"] as? Int == 300_000)
    }

    @Test("a body not in its --compression fails the request, status kept and the body patterns not run; a bomb stops at --max-body")
    func undecodable() async throws {
        let plain = try await http("--compression", "gzip", "--expect-body", "hello", "http://10.77.2.2/")
        #expect(plain.status == 1, "\(plain.output)")
        let response = try #require(plain.events("response").first)
        #expect(response["status"] as? Int == 200, "\(response)")
        let failures = response["failures"] as? [String] ?? []
        #expect(failures.count == 1 && failures.first?.hasPrefix("the body is not valid gzip: ") == true, "\(failures)")
        #expect((plain.summary["last"] as? [String: Any])?["failedDueToRegex"] as? Bool == false)
        // Sent as plain (Accept-Encoding not asked): blackbox's module without the header fails the same way.
        let unasked = try await http("--compression", "gzip", "http://10.77.2.2/gzip")
        #expect(unasked.status == 1 && (unasked.events("response").first?["failures"] as? [String])?.first?.contains("gzip") == true)

        // 64 MiB of zeros in 64 KiB: decoding stops at the limit (one 16 KiB chunk held at a time).
        let bomb = try await http("--compression", "gzip", "--max-body", "1000000", "http://10.77.2.2/bomb")
        #expect(bomb.status == 1 && bomb.events("failure").first?["outcome"] as? String == "too_large", "\(bomb.output)")

        let text = try await Sonde.run(["http", "--compression", "br", "-c", "2", "-i", "0.1", "http://10.77.2.2/br"], in: network.client)
        #expect(text.output.contains("HTTP/1.1 200 OK, 300000 bytes (") && text.output.contains(" as br), total "), "\(text.output)")
    }

    @Test(
        "compression against what the request asks for: a clear error, exit 2",
        arguments: [
            (["--compression", "zstd"], "invalid value 'zstd' for --compression"),
            (["--compression", "gzip", "-H", "Accept-Encoding: br"], "a coding the Accept-Encoding header 'br' asks for"),
            (["--compression", "gzip", "-H", "Accept-Encoding: br, gzip;q=0"], "invalid value 'gzip' for --compression"),
            (["--compression", "gzip", "--compressed"], "either --compressed"),
        ])
    func compressionBadInput(arguments: [String], message: String) async throws {
        let run = try await Sonde.run(["http"] + arguments + ["http://10.77.2.2/"], in: network.client)
        #expect(run.status == 2, "\(run.output) \(run.error)")
        #expect(run.error.contains(message) && run.error.split(separator: "\n").count == 1, "\(run.error)")
    }

    @Test("HTTP/2 by ALPN: h2 where the server offers it (as curl), HTTP/1.1 with --http1.1 or where it does not")
    func http2() async throws {
        let root = network.testRootCA
        let run = try await http("--cacert", root, "https://shop.test:8451/")
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let response = try #require(run.events("response").first)
        #expect(response["httpVersion"] as? String == "HTTP/2" && response["status"] as? Int == 200, "\(response)")
        #expect(tls(run)["alpn"] as? String == "h2")
        let phases = response["phases"] as? [String: Double] ?? [:]
        #expect((phases["tlsMs"] ?? 0) > 0 && phases["processingMs"] != nil && phases["transferMs"] != nil, "\(phases)")
        // What curl gets from the same server: the same version, status and body length.
        let seen = try curl("--cacert", root, "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{size_download}", "https://shop.test:8451/")
        #expect("2 \(response["status"] as? Int ?? 0) \(response["bodyBytes"] as? Int ?? -1)" == seen, "\(seen)")
        #expect((run.summary["last"] as? [String: Any])?["httpVersion"] as? String == "HTTP/2")

        let pinned = try await http("--cacert", root, "--http1.1", "https://shop.test:8451/")
        #expect(pinned.events("response").first?["httpVersion"] as? String == "HTTP/1.1" && tls(pinned)["alpn"] as? String == "http/1.1")
        let fallback = try await http("--cacert", root, "--http2", "https://shop.test:8443/")
        #expect(fallback.status == 0 && fallback.events("response").first?["httpVersion"] as? String == "HTTP/1.1", "\(fallback.output)")

        let text = try await Sonde.run(["http", "--cacert", root, "-c", "2", "-i", "0.1", "https://shop.test:8451/"], in: network.client)
        #expect(text.output.contains("< HTTP/2 200") && text.output.contains("seq=2 HTTP/2 200"), "\(text.output)")
    }

    @Test("mutual TLS: a server that requires a client certificate gets the one --cert and --key give")
    func clientCertificate() async throws {
        let root = network.testRootCA
        let (certificate, key) = network.testClientCertificate
        let anonymous = try await http("--cacert", root, "https://shop.test:8450/")
        // nginx finishes the handshake and answers 400 "No required SSL certificate was sent".
        #expect(anonymous.status == 1 && anonymous.events("response").first?["status"] as? Int == 400, "\(anonymous.output)")
        let run = try await http("--cacert", root, "--cert", certificate, "--key", key, "--expect-body", "CN=sonde client", "https://shop.test:8450/")
        #expect(run.status == 0 && run.events("response").first?["status"] as? Int == 200, "\(run.output) \(run.error)")
        let other = try await Sonde.run(["http", "--cert", certificate, "--key", root, "https://shop.test:8450/"], in: network.client)
        #expect(other.status == 2 && other.error.contains("--key"), "\(other.error)")
    }

    @Test("inline PEM: --cacert-pem, --cert-pem and --key-pem instead of files; over the API too, the key never shown back")
    func inlinePEM() async throws {
        let root = try String(contentsOfFile: network.testRootCA, encoding: .utf8)
        let (certificateFile, keyFile) = network.testClientCertificate
        let certificate = try String(contentsOfFile: certificateFile, encoding: .utf8)
        let key = try String(contentsOfFile: keyFile, encoding: .utf8)
        let trusted = try await http("--cacert-pem", root, "https://shop.test:8443/")
        #expect(trusted.status == 0 && (trusted.events("tls").first?["tls"] as? [String: Any])?["problems"] as? [String] == [], "\(trusted.output)")
        let mutual = try await http(
            "--cacert-pem", root, "--cert-pem", certificate, "--key-pem", key, "--expect-body", "CN=sonde client", "https://shop.test:8450/")
        #expect(mutual.status == 0, "\(mutual.output) \(mutual.error)")
        let both = try await Sonde.run(["http", "--cacert", network.testRootCA, "--cacert-pem", root, "https://shop.test:8443/"], in: network.client)
        #expect(both.status == 2 && both.error.contains("--cacert FILE or --cacert-pem TEXT, not both"), "\(both.error)")
        let notPEM = try await Sonde.run(["http", "--cacert-pem", "hello", "https://shop.test:8443/"], in: network.client)
        #expect(notPEM.status == 2 && notPEM.error.contains("expected PEM text"), "\(notPEM.error)")

        // A caller cannot name a file on the sidecar, but can give its CA (and its own client identity) as text.
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_314, arguments: [])
        try await server.waitUntilServing()
        func json(_ text: String) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
        }
        let body =
            #"{"target": "https://shop.test:8450/", "resolve": "shop.test:8450:10.77.2.2", "cacertPem": \#(json(root)), "#
            + #""certPem": \#(json(certificate)), "keyPem": \#(json(key))}"#
        let answered = try await server.request("POST", "/v1/probes/http", body: body)
        #expect(answered.status == 200 && answered.object["success"] as? Bool == true, "\(answered.body)")
        let parameters = answered.object["parameters"] as? [String: Any] ?? [:]
        #expect(parameters["keyPem"] as? String == "<secret>" && !answered.body.contains("PRIVATE KEY"), "\(parameters)")
        #expect((parameters["cacertPem"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE-----") == true, "a CA is no secret")
        _ = await server.terminate()
    }

    @Test(
        "bad input: one line naming the value and what is allowed, exit 2",
        arguments: [
            (["ftp://10.77.2.2/"], "the scheme 'ftp' is not http or https"),
            (["http://[fd00::1/"], "an IPv6 address needs its closing ']'"),
            (["http://user:secret@10.77.2.2/"], "credentials in the URL are not sent"),
            (["-H", "NoColon", "http://10.77.2.2/"], "invalid value 'NoColon' for -H/--header: expected header lines 'Name: value'"),
            (["--expect-body", "(", "http://10.77.2.2/"], "--expect-body"),
            (["--expect-status", "700", "http://10.77.2.2/"], "status codes and ranges from 100 to 599"),
            (["--cacert", "/nonexistent.pem", "https://10.77.2.2/"], "invalid value '/nonexistent.pem' for --cacert"),
            (["--cert", "/nonexistent.pem", "https://10.77.2.2/"], "--key"),
            (["--servername", "10.77.2.2", "https://10.77.2.2/"], "a DNS name (SNI carries no address)"),
        ])
    func badInput(arguments: [String], message: String) async throws {
        let run = try await Sonde.run(["http"] + arguments, in: network.client)
        #expect(run.status == 2, "\(run.output) \(run.error)")
        #expect(run.error.contains(message), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1 && run.output.isEmpty, "\(run.error)")
    }

    @Test("/probe's http_2xx answers as blackbox_exporter's does: the same success and the same probe_http_* series")
    func blackboxSideBySide() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-blackbox-http-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { _ = system("kill $(cat \(folder)/blackbox.pid) 2>/dev/null; rm -rf \(folder)") }
        try "modules:\n  http_2xx:\n    prober: http\n".write(toFile: folder + "/blackbox.yml", atomically: true, encoding: .utf8)
        #expect(
            system(
                "ip netns exec \(network.client) prometheus-blackbox-exporter --config.file=\(folder)/blackbox.yml "
                    + "--web.listen-address=127.0.0.1:19116 --log.level=warn >/dev/null 2>&1 & echo $! > \(folder)/blackbox.pid") == 0)
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_311, arguments: [])
        try await server.waitUntilServing()

        let series = PrometheusText.series
        for target in ["http://10.77.2.2/", "http://10.77.2.2/moved", "http://10.77.2.2/down", "http://10.77.2.2:81/", "http://10.77.2.2/gzip"] {
            var blackbox = ""
            for _ in 0..<50 {
                blackbox = (try? curl("http://127.0.0.1:19116/probe?module=http_2xx&target=\(target)")) ?? ""
                if blackbox.contains("probe_success") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let sonde = try await server.request("GET", "/probe?module=http_2xx&target=\(target)")
            let theirs = series(blackbox)
            let ours = series(sonde.body)
            #expect(ours["probe_success"] == theirs["probe_success"], "\(target): sonde \(ours) blackbox \(theirs)")
            #expect(ours["probe_http_status_code"] == theirs["probe_http_status_code"], "\(target)")
            #expect(ours["probe_http_redirects"] == theirs["probe_http_redirects"], "\(target)")
            #expect(ours["probe_http_content_length"] == theirs["probe_http_content_length"], "\(target): \(ours) \(theirs)")
            // Every probe_http_* series blackbox writes, Sonde writes, with the same labels.
            let missing = PrometheusText.missing(in: sonde.body, from: blackbox) {
                $0.hasPrefix("probe_http_") && !$0.hasPrefix("probe_http_last_modified")
            }
            #expect(missing.isEmpty, "\(target): missing \(missing)")
        }
        _ = await server.terminate()
    }

    @Test("a redirect into a network the sidecar denies is not followed: that server's own access log shows no request")
    func redirectIntoDeniedNetwork() async throws {
        let log = network.deniedServerAccessLog
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_313, arguments: ["--deny", "10.77.2.4/32"])
        try await server.waitUntilServing()
        let stream = try await server.request(
            "POST", "/v1/probes/http", body: #"{"target": "http://10.77.2.2/to-denied", "location": true}"#, accept: "application/x-ndjson")
        let denied = stream.objects.first { $0["type"] as? String == "failure" }
        #expect(denied?["outcome"] as? String == "denied" && denied?["hop"] as? Int == 1, "\(stream.body)")
        _ = await server.terminate()
        let before = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!before.contains("/secret"), "\(before)")
        // The log is alive: the same redirect from the command line (no policy) reaches the server and is logged.
        let direct = try await http("-L", "http://10.77.2.2/to-denied")
        #expect(direct.status == 0, "\(direct.output)")
        let after = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(after.contains("GET /secret"), "\(after)")
    }

    @Test("over the API: every hop passes the policy, and the pod's own loopback gives no headers or content")
    func api() async throws {
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_310, arguments: [])
        try await server.waitUntilServing()
        let ok = try await server.request("GET", "/v1/probes/http?target=http://10.77.2.2/")
        #expect(ok.status == 200 && ok.object["success"] as? Bool == true, "\(ok.body)")

        // A redirect into the metadata network is not followed; the request fails, naming why.
        let stream = try await server.request(
            "POST", "/v1/probes/http", body: #"{"target": "http://10.77.2.2/meta", "location": true}"#, accept: "application/x-ndjson")
        #expect(stream.status == 200, "\(stream.body)")
        let denied = stream.objects.first { $0["type"] as? String == "failure" }
        #expect(denied?["outcome"] as? String == "denied" && denied?["hop"] as? Int == 1, "\(stream.body)")
        #expect(stream.objects.last?["success"] as? Bool == false)
        let direct = try await server.request("GET", "/v1/probes/http?target=http://169.254.169.254/")
        #expect(direct.status == 403, "\(direct.body)")

        // The sidecar's own loopback: status and timings, never its headers; content parameters refused.
        let local = try await server.request("GET", "/v1/probes/http?target=http://127.0.0.1:18310/healthz", accept: "application/x-ndjson")
        let response = local.objects.first { $0["type"] as? String == "response" }
        #expect(response?["status"] as? Int == 200 && response?["headers"] == nil, "\(local.body)")
        let withHeader = try await server.request(
            "POST", "/v1/probes/http", body: #"{"target": "http://127.0.0.1:18310/healthz", "header": "X-A: 1"}"#)
        #expect(withHeader.status == 403 && withHeader.body.contains("target_denied"), "\(withHeader.body)")
        for file in ["cacert=/etc/passwd", "cert=/etc/passwd&key=/etc/shadow"] {
            let named = try await server.request("GET", "/v1/probes/http?target=https://10.77.2.2:8443/&\(file)")
            #expect(named.status == 400 && named.body.contains("a sidecar reads no file a caller names"), "\(named.body)")
        }
        let badHeader = try await server.request("POST", "/v1/probes/http", body: #"{"target": "http://10.77.2.2/", "header": "X-A: 1\r\nX-B: 2"}"#)
        #expect(badHeader.status == 400, "\(badHeader.body)")
        _ = await server.terminate()
    }
}
