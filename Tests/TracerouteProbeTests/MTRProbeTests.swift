import Foundation
import SondeCore
import SondeICMP
import Testing

@testable import TracerouteProbe

/// The parts of mtr that need no network: a hop's columns from its probes, where the path ends and when a round
/// is complete, the report's rows as mtr prints them. The probe on real paths is
/// `IntegrationTests/MTRIntegrationTests`.
@Suite("mtr probe")
struct MTRProbeTests {
    static func answer(_ from: String?, _ rtt: Double? = nil, reached: Bool = false, stops: Bool = false, marker: String? = nil) -> HopAnswer {
        var answer = HopAnswer(sequence: 0, probe: .init(from: from, rttMs: rtt, marker: marker))
        answer.reached = reached
        answer.stops = stops
        return answer
    }

    @Test("a hop's columns: loss over the probes settled, last by round, best, worst, mean and mtr's sample deviation")
    func columns() {
        let hop = MTRHop(
            ttl: 2, outcomes: [.init(from: "10.0.0.1", rttMs: 1), .init(), .init(from: "10.0.0.9", rttMs: 3), .init(from: "10.0.0.1", rttMs: 2)])
        #expect(hop.sent == 4 && hop.received == 3 && hop.lossPercent == 25)
        #expect(hop.lastMs == 2 && hop.bestMs == 1 && hop.worstMs == 3 && hop.avgMs == 2 && hop.stdevMs == 1)
        #expect(hop.addresses == ["10.0.0.1", "10.0.0.9"], "every address seen, first seen first")
        let silent = MTRHop(ttl: 1, outcomes: [.init(), .init()])
        #expect(silent.lossPercent == 100 && silent.avgMs == nil && silent.addresses.isEmpty)
    }

    @Test("the path ends at the lowest hop the target answers from; later hops are dropped, a round completes over the path")
    func table() {
        let table = MTRTable(ttls: 1...30)
        let router = table.record(ttl: 1, cycle: 1, answer: Self.answer("r1", 0.1))
        #expect(router.completedCycles == nil && router.told.map(\.ttl) == [1], "a router's answer is told at once; 29 hops still out")
        let early = table.record(ttl: 3, cycle: 1, answer: Self.answer("t", 0.3, reached: true))
        #expect(early.completedCycles == nil && early.told.isEmpty, "the target at hop 3 waits for hop 2's answer")
        #expect(table.isBeyondEnd(4) && !table.isBeyondEnd(3))
        // Hop 2's round-1 answer was slower than hop 3's: the path now ends at 2, hop 3 is never told, the round is in.
        let end = table.record(ttl: 2, cycle: 1, answer: Self.answer("t", 0.2, reached: true))
        #expect(end.completedCycles == 1 && end.told.map(\.ttl) == [2])
        #expect(table.record(ttl: 3, cycle: 2, answer: Self.answer("t", 0.3, reached: true)).beyondEnd)
        #expect(table.hops.map(\.ttl) == [1, 2] && table.reachedAt == 2)

        let stopped = MTRTable(ttls: 1...5)
        _ = stopped.record(ttl: 2, cycle: 1, answer: Self.answer("r1", 0.4, stops: true, marker: "!H"))
        #expect(stopped.isBeyondEnd(3) && stopped.hops.last?.markers == ["!H"] && stopped.reachedAt == nil)

        let hole = MTRTable(ttls: 1...30)
        for ttl in 1...30 { _ = hole.record(ttl: ttl, cycle: 1, answer: Self.answer(ttl == 1 ? "r1" : nil)) }
        #expect(hole.hops.map(\.ttl) == [1, 2], "a path that never ends shows one silent hop past the last that answered, as mtr")
    }

    @Test("loss at a hop while every later hop loses nothing is its rate limit; loss that carries on is the path's")
    func rateLimiting() {
        func hop(_ ttl: Int, _ answered: Int, of sent: Int) -> MTRHop {
            MTRHop(ttl: ttl, outcomes: (0..<sent).map { $0 < answered ? .init(from: "10.0.0.\(ttl)", rttMs: 1) : .init() })
        }
        var limited = MTRSummary(hops: [hop(1, 7, of: 10), hop(2, 10, of: 10)], destination: "10.0.0.2", cycles: 10, reachedAt: 2)
        limited.markRateLimiting()
        #expect(limited.hops[0].rateLimiting && !limited.hops[1].rateLimiting)
        var lossy = MTRSummary(hops: [hop(1, 7, of: 10), hop(2, 8, of: 10)], destination: "10.0.0.2", cycles: 10, reachedAt: 2)
        lossy.markRateLimiting()
        #expect(!lossy.hops[0].rateLimiting)
    }

    @Test("the report's rows in mtr's columns and widths; ??? for a silent hop, 100.0 without its sign, extra addresses below")
    func report() {
        let renderer = MTRTextRenderer(options: TextRenderingOptions())
        var first = MTRHop(ttl: 1, outcomes: [.init(from: "10.82.1.254", rttMs: 0.1), .init(from: "10.82.1.254", rttMs: 0.2)])
        first.addresses.append("10.82.1.253")
        let lines = renderer.table([first, MTRHop(ttl: 2, outcomes: [.init(), .init()])])
        #expect(lines[0] == MTRTextRenderer.padded("HOST: " + MTRTextRenderer.hostname, 33) + " Loss%   Snt   Last   Avg  Best  Wrst StDev")
        #expect(lines[1] == "  1.|-- 10.82.1.254                0.0%     2    0.2   0.2   0.1   0.2   0.1")
        #expect(lines[2] == "    |  `|-- 10.82.1.253")
        #expect(lines[3] == "  2.|-- ???                       100.0     2    0.0   0.0   0.0   0.0   0.0")
        #expect(MTRTextRenderer.milliseconds(3054.4) == "3054." && MTRTextRenderer.milliseconds(12.34) == "12.3")
        let wide = MTRTextRenderer(options: TextRenderingOptions(wide: true)).table([first])
        #expect(wide[1] == "  1.|-- 10.82.1.254  0.0%     2    0.2   0.2   0.1   0.2   0.1" && wide[0].count == wide[1].count)
        #expect(MTRTextRenderer.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00+0000")
    }

    @Test("-f above -m is refused naming both")
    func plan() {
        let probe = MTRProbe(engine: ICMPEngine(sockets: .notOpened("no sockets in this test")))
        let values = try? probe.descriptor.validate(["firstTtl": .integer(5), "maxHops": .integer(2)])
        #expect(values != nil, "each value is in range on its own")
        #expect(throws: ProbeError.self) { try probe.descriptor.checkTogether?(values ?? ParameterValues()) }
        #expect(throws: Never.self) { try MTRPlan(probe.descriptor.validate([:])) }
    }
}
