import SondeCore
import SondeICMP
import Testing

@testable import TracerouteProbe

/// The parts of traceroute that need no network: ICMP read into traceroute's marks, rate limiting told from loss,
/// the text line of a hop. The probe on real paths is `IntegrationTests/TracerouteIntegrationTests`.
@Suite("Traceroute probe")
struct TracerouteProbeTests {
    @Test("ICMP and ICMPv6 unreachables into traceroute's marks; time exceeded is a hop, port unreachable the target")
    func marks() {
        #expect(TracerouteHop.marker(family: .ipv4, type: 11, code: 0) == nil)
        #expect(TracerouteHop.marker(family: .ipv4, type: 3, code: 3) == "")
        #expect(TracerouteHop.marker(family: .ipv4, type: 3, code: 1) == "!H")
        #expect(TracerouteHop.marker(family: .ipv4, type: 3, code: 13) == "!X")
        #expect(TracerouteHop.marker(family: .ipv4, type: 3, code: 7) == "!7")
        #expect(TracerouteHop.marker(family: .ipv6, type: 3, code: 0) == nil)
        #expect(TracerouteHop.marker(family: .ipv6, type: 1, code: 1) == "!X")
        #expect(TracerouteHop.marker(family: .ipv6, type: 1, code: 4) == "")
    }

    static func hop(_ ttl: Int, _ answers: [String?]) -> TracerouteHop {
        var hop = TracerouteHop(ttl: ttl)
        hop.probes = answers.map { TracerouteHop.Probe(from: $0, rttMs: $0 == nil ? nil : 0.5) }
        return hop
    }

    @Test("a hop that answers some probes while every later hop answers all is rate-limiting; loss that carries on is not")
    func rateLimiting() {
        var limited = TracerouteSummary(hops: [Self.hop(1, ["r1", nil, "r1"]), Self.hop(2, ["t", "t", "t"])], destination: "t")
        limited.markRateLimiting()
        #expect(limited.hops[0].rateLimiting && !limited.hops[1].rateLimiting)
        var lossy = TracerouteSummary(hops: [Self.hop(1, ["r1", nil, "r1"]), Self.hop(2, ["t", nil, "t"])], destination: "t")
        lossy.markRateLimiting()
        #expect(!lossy.hops[0].rateLimiting, "the loss goes on at the next hop: it is the path's")
        var silent = TracerouteSummary(hops: [Self.hop(1, [nil, nil]), Self.hop(2, ["t", "t"])], destination: "t")
        silent.markRateLimiting()
        #expect(!silent.hops[0].rateLimiting, "a hop that never answers is not rate-limiting: it sends no time-exceeded")
    }

    @Test("a hop's line as traceroute prints it: each address once, a time per probe, * for a timeout, the marks")
    func line() {
        var hop = Self.hop(3, ["10.0.0.1", nil, "10.0.0.2"])
        hop.probes[2].marker = "!H"
        #expect(TracerouteTextRenderer.line(for: hop) == " 3  10.0.0.1  0.500 ms * 10.0.0.2  0.500 ms !H")
        #expect(TracerouteTextRenderer.line(for: Self.hop(12, [nil])) == "12  *")
        #expect(throws: ProbeError.self) {
            try TraceroutePlan(
                try TracerouteProbe(engine: ICMPEngine(sockets: .notOpened("no sockets in this test"))).descriptor.validate([
                    "firstTtl": .integer(5), "maxHops": .integer(2),
                ]))
        }
    }
}
