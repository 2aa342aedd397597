import SondeCore
import Testing

@testable import DNSProbe

@Suite("resolv.conf and names")
struct ResolverTests {
    static let pod = """
        # a Kubernetes pod
        search shop.svc.cluster.local svc.cluster.local cluster.local
        nameserver 10.96.0.10
        options ndots:5 timeout:2 attempts:3 rotate
        """

    @Test func readsAPodsResolvConf() {
        let config = ResolverConfiguration(parsing: Self.pod)
        #expect(config.nameservers == ["10.96.0.10"])
        #expect(config.search == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"])
        #expect(config.ndots == 5 && config.timeout == 2 && config.attempts == 3)
    }

    @Test func theSearchListComesFirstBelowNdots() {
        let config = ResolverConfiguration(parsing: Self.pod)
        #expect(
            config.candidates(for: "kubernetes.default") == [
                "kubernetes.default.shop.svc.cluster.local.", "kubernetes.default.svc.cluster.local.",
                "kubernetes.default.cluster.local.", "kubernetes.default.",
            ])
        #expect(config.candidates(for: "a.b.c.d.e.f").first == "a.b.c.d.e.f.")
        #expect(config.candidates(for: "example.com.") == ["example.com."])
    }

    @Test func defaultsWhenTheFileSaysNothing() {
        let config = ResolverConfiguration(
            parsing: "domain corp.example\nnameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\noptions ndots:99")
        #expect(config.nameservers.count == 3, "glibc uses three at most")
        #expect(config.search == ["corp.example"])
        #expect(config.ndots == 15)
        #expect(ResolverConfiguration(parsing: "").nameservers == ["127.0.0.1"])
        #expect(config.candidates(for: "db") == ["db.corp.example.", "db."])
    }

    @Test func reverseNames() throws {
        #expect(DNSProbe.reverseName(try #require(IPAddress("10.0.0.7"))) == "7.0.0.10.in-addr.arpa.")
        #expect(DNSProbe.reverseName(try #require(IPAddress("fd00::7"))) == "7." + String(repeating: "0.", count: 29) + "d.f.ip6.arpa.")
    }

    @Test func serversAndRcodesAreValidated() throws {
        let config = ResolverConfiguration(parsing: Self.pod)
        #expect(try DNSProbe.servers(nil, config: config).map { $0.1 } == [53])
        #expect(try DNSProbe.servers("[fd00::53]:5353", config: config).first?.1 == 5353)
        #expect(try DNSProbe.servers("10.0.0.53:5353", config: config).first?.0 == IPAddress("10.0.0.53"))
        #expect(throws: ProbeError.self) { try DNSProbe.servers("dns.example", config: config) }
        #expect(throws: ProbeError.self) { try DNSProbe.servers("10.0.0.53:0", config: config) }
        #expect(try DNSProbe.rcodes("NOERROR, nxdomain") == [.noError, .nxDomain])
        #expect(throws: ProbeError.self) { try DNSProbe.rcodes("FINE") }
    }

    @Test func recordDataPrintsLikeDig() {
        #expect(DNSRecordData.aaaa([0xfd, 0] + Array(repeating: 0, count: 13) + [7]).presentation == "fd00::7")
        #expect(DNSRecordData.aaaa([0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]).presentation == "2001:db8:0:1::1")
        #expect(DNSRecordData.txt([Array("say \"hi\"".utf8), [7]]).presentation == "\"say \\\"hi\\\"\" \"\\007\"")
        #expect(DNSRecordData.unknown([0xab, 1]).presentation == "\\# 2 ab01")
        #expect(DNSRecordData.caa(flags: 0, tag: "issue", value: Array("ca.example".utf8)).presentation == "0 issue \"ca.example\"")
    }
}
