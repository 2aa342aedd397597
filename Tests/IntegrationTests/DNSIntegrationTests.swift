import Foundation
import Testing

/// `sonde dns` against a real dnsmasq in the echo namespace, with the client's own resolv.conf
/// (`search shop.svc.cluster.local svc.cluster.local cluster.local`, `ndots:5`).
@Suite("sonde dns against dnsmasq", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct DNSIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func dns(_ arguments: String...) async throws -> Sonde.Run {
        try await Sonde.run(["dns", "--json"] + arguments, in: network.client)
    }

    func answers(_ run: Sonde.Run) -> [String] {
        (run.summary["answer"] as? [[String: Any]] ?? []).compactMap { "\($0["type"] as? String ?? "") \($0["data"] as? String ?? "")" }
    }

    @Test(arguments: [
        ("A", "www.test.", ["A 10.77.2.7"]),
        ("AAAA", "www.test.", ["AAAA fd00:77:2::7"]),
        ("CNAME", "alias.test.", ["CNAME www.test."]),
        ("MX", "test.", ["MX 10 mail.test."]),
        ("TXT", "test.", ["TXT \"v=spf1 -all\" \"second string\""]),
        ("SRV", "_ldap._tcp.test.", ["SRV 1 5 389 dc.test."]),
        ("NS", "test.", ["NS ns1.test."]),
        ("SOA", "test.", ["SOA ns1.test. hostmaster.test. 2026112401 3600 600 86400 60"]),
        ("CAA", "test.", ["CAA 0 issue \"ca.test\""]),
    ])
    func everyRecordType(type: String, name: String, expected: [String]) async throws {
        for server in ["10.77.2.2", "[fd00:77:2::2]:53"] {
            let run = try await dns("--server", server, "-t", type, name)
            #expect(run.status == 0, "\(type) via \(server): \(run.error)")
            #expect(run.summary["rcode"] as? String == "NOERROR")
            #expect(answers(run) == expected, "\(type) via \(server)")
            #expect((run.summary["flags"] as? [String])?.contains("qr") == true)
        }
    }

    @Test("--tls: DNS over TLS to nginx in front of dnsmasq, port 853, the chain judged; untrusted refused before the query, -k goes on")
    func overTLS() async throws {
        let trusted = try await dns("--tls", "--server", "10.77.2.2", "--cacert", network.testRootCA, "--servername", "shop.test", "www.test.")
        #expect(trusted.status == 0, "\(trusted.output) \(trusted.error)")
        #expect(answers(trusted) == ["A 10.77.2.7"] && trusted.summary["transport"] as? String == "TLS", "\(trusted.output)")
        #expect(trusted.summary["server"] as? String == "10.77.2.2:853")
        let tls = trusted.summary["tls"] as? [String: Any] ?? [:]
        #expect((tls["problems"] as? [String]) == [] && tls["serverName"] as? String == "shop.test", "\(tls)")

        let untrusted = try await dns("--tls", "--server", "10.77.2.2:853", "www.test.")
        #expect(untrusted.status == 1, "\(untrusted.output)")
        let error = untrusted.events("error").first?["message"] as? String ?? ""
        #expect(error.contains("the certificate is not trusted"), "\(untrusted.output)")
        #expect(untrusted.summary["rcode"] == nil, "no query over an untrusted connection")

        let insecure = try await dns("--tls", "-k", "--server", "10.77.2.2", "www.test.")
        #expect(insecure.status == 0 && answers(insecure) == ["A 10.77.2.7"], "\(insecure.output)")
        // dnsmasq itself speaks no TLS: it reads the ClientHello as a query's length and waits; the timeout ends it.
        let plain = try await dns("--tls", "-k", "--server", "10.77.2.2:53", "-W", "1", "--attempts", "1", "www.test.")
        #expect(plain.status == 1 && plain.events("timeout").count == 1 && plain.summary["rcode"] == nil, "\(plain.output)")

        let text = try await Sonde.run(["dns", "--tls", "-k", "--server", "10.77.2.2", "www.test."], in: network.client)
        #expect(text.output.contains(";; SERVER: 10.77.2.2:853 (TLS)") && text.output.contains(";; * TLSv1.3"), "\(text.output)")
    }

    @Test func reverseLookup() async throws {
        let run = try await dns("--server", "10.77.2.2", "-x", "10.77.2.7")
        #expect(answers(run) == ["PTR www.test."])
        #expect((run.summary["question"] as? [[String: Any]])?.first?["name"] as? String == "7.2.77.10.in-addr.arpa.")
    }

    @Test("-b sends from the local address given (UDP and TCP, both families); one not here, or of no server's family, is named")
    func fromASourceAddress() async throws {
        for (source, server) in [("10.77.1.1", "10.77.2.2"), ("fd00:77:1::1", "[fd00:77:2::2]:53")] {
            for transport in [[], ["--tcp"]] {
                let run = try await Sonde.run(["dns", "--json", "-b", source, "--server", server] + transport + ["www.test."], in: network.client)
                #expect(run.status == 0, "\(source) → \(server) \(transport): \(run.output) \(run.error)")
                #expect(answers(run) == ["A 10.77.2.7"])
            }
        }
        let elsewhere = try await dns("-b", "10.77.9.9", "--server", "10.77.2.2", "www.test.")
        #expect(elsewhere.status == 1)
        #expect(elsewhere.events("error").first?["errno"] as? String == "EADDRNOTAVAIL", "\(elsewhere.output)")
        let family = try await Sonde.run(["dns", "-b", "fd00:77:1::1", "--server", "10.77.2.2", "www.test."], in: network.client)
        #expect(family.status == 2)
        #expect(family.error.contains("invalid value 'fd00:77:1::1' for -b/--source: expected an address of a server's family"), "\(family.error)")
    }

    @Test func theSearchListAsAPodSeesIt() async throws {
        // ndots:5 and three search domains: the resolver tries them in order before the name itself.
        let run = try await dns("api")
        let tried = (run.summary["namesTried"] as? [[String: String]] ?? []).map { "\($0["name"] ?? "") \($0["result"] ?? "")" }
        #expect(tried == ["api.shop.svc.cluster.local. NOERROR"])
        #expect(answers(run) == ["A 10.77.2.8"])
        let longer = try await dns("www.test")
        let triedLonger = (longer.summary["namesTried"] as? [[String: String]] ?? []).map { "\($0["name"] ?? "") \($0["result"] ?? "")" }
        #expect(
            triedLonger == [
                "www.test.shop.svc.cluster.local. NXDOMAIN", "www.test.svc.cluster.local. NXDOMAIN",
                "www.test.cluster.local. NXDOMAIN", "www.test. NOERROR",
            ])
        #expect(longer.status == 0)
        let text = try await Sonde.run(["dns", "www.test"], in: network.client)
        #expect(text.output.contains(";; names tried: www.test.shop.svc.cluster.local. (NXDOMAIN), "))
        #expect(text.output.contains("www.test.\t\t0\tIN\tA\t10.77.2.7"))
        let absolute = try await dns("--search=false", "www.test")
        #expect((absolute.summary["namesTried"] as? [[String: String]])?.count == 1)
    }

    @Test func nxdomainAndServfailAreResults() async throws {
        let missing = try await dns("--server", "10.77.2.2", "nope.test.")
        #expect(missing.summary["rcode"] as? String == "NXDOMAIN")
        #expect(missing.report?["success"] as? Bool == false)
        #expect(missing.status == 1)
        let expected = try await dns("--server", "10.77.2.2", "--expect-rcode", "NXDOMAIN", "nope.test.")
        #expect(expected.status == 0)
        let broken = try await dns("--server", "10.77.2.2", "-W", "3", "x.fail.test.")
        #expect(broken.summary["rcode"] as? String == "SERVFAIL")
        #expect(broken.status == 1)
    }

    @Test func aTruncatedUDPAnswerIsRetriedOverTCP() async throws {
        let run = try await dns("--server", "10.77.2.2", "--bufsize", "512", "-t", "TXT", "big.test.")
        #expect(run.events("truncated").count == 1)
        #expect(run.summary["transport"] as? String == "TCP")
        #expect((run.summary["messageSize"] as? Int ?? 0) > 512)
        #expect(answers(run).first?.hasPrefix("TXT \"aaaa") == true)
        let tcp = try await dns("--server", "10.77.2.2", "--tcp", "www.test.")
        #expect(tcp.summary["transport"] as? String == "TCP" && tcp.events("truncated").isEmpty)
    }

    @Test func aServerThatNeverAnswers() async throws {
        let started = Date()
        let run = try await dns("--server", "10.77.7.1", "-W", "0.3", "--attempts", "2", "www.test.")
        #expect(run.events("timeout").count == 2)
        #expect(run.summary["rcode"] == nil)
        #expect(run.status == 1)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aHugeAnswerIsCountedNotListed() async throws {
        let run = try await dns("--server", "10.77.2.2", "-t", "A", "huge.test.")
        #expect(run.status == 0, "\(run.error)")
        #expect(run.summary["transport"] as? String == "TCP", "too big for UDP: asked again over TCP")
        let listed = run.summary["answer"] as? [[String: Any]] ?? []
        let omitted = (run.summary["omitted"] as? [String: Any])?["answer"] as? Int ?? 0
        #expect(listed.count == 100, "at most 100 records listed")
        #expect(listed.count + omitted == 2000, "every record counted: \(listed.count) + \(omitted)")
        let text = try await Sonde.run(["dns", "--server", "10.77.2.2", "huge.test."], in: network.client)
        #expect(text.output.contains("ANSWER: 2000,"), "\(text.output.prefix(400))")
        #expect(text.output.contains(";; ... 1900 more records not shown (at most 100 per section)"))
    }

    @Test func expectationsOnTheAnswer() async throws {
        #expect(try await dns("--server", "10.77.2.2", "--expect-address", "10.77.2.7", "www.test.").status == 0)
        #expect(try await dns("--server", "10.77.2.2", "--expect-address", "10.77.2.9", "www.test.").status == 1)
        #expect(try await dns("--server", "10.77.2.2", "-t", "TXT", "--expect", "spf1", "test.").status == 0)
        #expect(try await dns("--server", "10.77.2.2", "-t", "TXT", "--expect", "^nothing", "test.").status == 1)
    }
}
