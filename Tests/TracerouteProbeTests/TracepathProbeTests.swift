import Foundation
import SondeCore
import SondeICMP
import Testing

@testable import TracerouteProbe

/// The parts of tracepath that need no network: what an ICMP error means to a path-MTU trace, the hops back from a
/// reply's TTL, the lines as tracepath prints them, the metrics. The probe on real paths (a narrower link, a black
/// hole) is `IntegrationTests/TracepathIntegrationTests`.
@Suite("tracepath probe")
struct TracepathProbeTests {
    @Test("fragmentation needed and packet too big carry the next hop's MTU; time exceeded, unreachables and the target's own")
    func heard() {
        let needed = TracepathProbe.heard(from: "10.0.0.1", rttMs: 1, family: .ipv4, type: 3, code: 4, mtu: 1400)
        #expect(needed == .fragmentationNeeded(from: "10.0.0.1", rttMs: 1, mtu: 1400))
        let tooBig = TracepathProbe.heard(from: "fd00::1", rttMs: 1, family: .ipv6, type: 2, code: 0, mtu: 1280)
        #expect(tooBig == .fragmentationNeeded(from: "fd00::1", rttMs: 1, mtu: 1280))
        #expect(TracepathProbe.heard(from: "r", rttMs: 2, family: .ipv4, type: 11, code: 0, mtu: 0) == .timeExceeded(from: "r", rttMs: 2))
        #expect(TracepathProbe.heard(from: "r", rttMs: 2, family: .ipv6, type: 3, code: 0, mtu: 0) == .timeExceeded(from: "r", rttMs: 2))
        #expect(TracepathProbe.heard(from: "r", rttMs: 2, family: .ipv4, type: 3, code: 1, mtu: 0) == .unreachable(from: "r", rttMs: 2, marker: "!H"))
        #expect(
            TracepathProbe.heard(from: "r", rttMs: 2, family: .ipv4, type: 3, code: 13, mtu: 0) == .unreachable(from: "r", rttMs: 2, marker: "!X"))
        #expect(TracepathProbe.heard(from: "t", rttMs: 2, family: .ipv4, type: 3, code: 3, mtu: 0) == .reached(from: "t", rttMs: 2, replyTTL: nil))
        #expect(!TracepathProbe.Heard.silence.answered && !TracepathProbe.Heard.tooBigHere(mtu: 1400).answered)
        #expect(TracepathProbe.Heard.timeExceeded(from: "r", rttMs: 1).answered)
    }

    @Test("hops back, as tracepath reckons them: the first of 64, 128 and 255 not below the reply's TTL, less it, plus one")
    func hopsBack() {
        #expect(TracepathProbe.hopsBack(64) == 1)
        #expect(TracepathProbe.hopsBack(62) == 3)
        #expect(TracepathProbe.hopsBack(127) == 2)
        #expect(TracepathProbe.hopsBack(250) == 6)
    }

    @Test("the lines as tracepath -n prints them: LOCALHOST and the link MTU, each hop with its time, pmtu, reached")
    func lines() {
        let renderer = TracepathTextRenderer(options: TextRenderingOptions())
        var start = TracepathEvent("start", target: "10.0.0.9")
        start.pmtu = 1500
        #expect(renderer.lines(for: start).map(\.text) == [" 1?: [LOCALHOST]                      pmtu 1500"])
        var first = TracepathHop(ttl: 1, size: 1500)
        first.from = "10.0.0.1"
        first.rttMs = 0.0631
        #expect(TracepathTextRenderer.line(for: first) == " 1:  10.0.0.1" + String(repeating: " ", count: 44) + "  0.063ms ")
        var narrower = first
        narrower.pmtu = 1400
        #expect(TracepathTextRenderer.line(for: narrower).hasSuffix("  0.063ms pmtu 1400"))
        var target = TracepathHop(ttl: 12, size: 1400)
        target.from = "10.0.0.9"
        target.rttMs = 123.4567
        target.reached = true
        #expect(TracepathTextRenderer.line(for: target).hasPrefix("12:  10.0.0.9 "))
        #expect(TracepathTextRenderer.line(for: target).hasSuffix("123.457ms reached"))
        #expect(TracepathTextRenderer.line(for: TracepathHop(ttl: 3, size: 1400)) == " 3:  no reply")

        var hole = TracepathEvent("black_hole", target: "10.0.0.9")
        hole.blackHole = PMTUBlackHole(afterHop: 1, beforeHop: 2, largestPassing: 1400, lost: 1500)
        #expect(renderer.lines(for: hole).first?.text.contains("black hole between hop 1 and 2: 1500-byte packets vanish") == true)
    }

    @Test("the report's Resume line; the black hole is in the metrics and named once, as it is found")
    func report() {
        var reached = TracepathHop(ttl: 2, size: 1400)
        reached.from = "10.0.0.9"
        reached.reached = true
        let hole = PMTUBlackHole(afterHop: 1, beforeHop: 2, largestPassing: 1400, lost: 1500)
        let summary = TracepathSummary(
            hops: [TracepathHop(ttl: 1, size: 1500), reached], linkMTU: 1500, pmtu: 1400, reached: true, hopCount: 2, back: 2, blackHole: hole)
        let report = ProbeReport(
            probe: TracepathProbe.kind, target: "10.0.0.9", address: "10.0.0.9", success: true, startedAt: Date(), durationSeconds: 1,
            parameters: ParameterValues(), summary: summary)
        let lines = TracepathTextRenderer(options: TextRenderingOptions()).lines(for: report).map(\.text)
        #expect(lines == ["     Resume: pmtu 1400 hops 2 back 2 "])
        let samples = Dictionary(summary.metricSamples.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(samples["probe_tracepath_pmtu_bytes"] == 1400 && samples["probe_tracepath_link_mtu_bytes"] == 1500)
        #expect(samples["probe_tracepath_black_hole"] == 1 && samples["probe_tracepath_black_hole_hop"] == 2)
        #expect(samples["probe_tracepath_reached"] == 1 && samples["probe_tracepath_hops"] == 2)
    }
}
