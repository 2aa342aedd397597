import SondeCore
import Testing

@testable import UDPProbe

/// The pieces of the UDP probe that need no network: ICMP read as nmap reads it for UDP, the verdict over a run's
/// attempts, the plan. The probe against real ports is `IntegrationTests/UDPIntegrationTests`.
@Suite("UDP probe")
struct UDPProbeTests {
    @Test(
        "ICMP and ICMPv6 type/code into closed, filtered or unreachable",
        arguments: [
            (false, 3, 3, UDPOutcome.closed), (false, 3, 13, .filtered), (false, 3, 10, .filtered), (false, 3, 1, .unreachable),
            (false, 11, 0, .unreachable), (true, 1, 4, .closed), (true, 1, 1, .filtered), (true, 1, 3, .unreachable),
        ])
    func classification(v6: Bool, type: Int, code: Int, outcome: UDPOutcome) {
        let (read, meaning) = v6 ? UDPAttempt.icmp6(type: type, code: code) : UDPAttempt.icmp(type: type, code: code)
        #expect(read == outcome && !meaning.isEmpty, "\(type)/\(code): \(read) \(meaning)")
    }

    @Test("the state over all attempts: an answer proves open, a port unreachable closed; silence after it is the rate limit")
    func state() {
        func summary(_ outcomes: [UDPOutcome], matched: Bool = true) -> UDPSummary {
            var summary = UDPSummary()
            for outcome in outcomes { summary.count(outcome, matched: matched) }
            summary.finish()
            return summary
        }
        let limited = summary([.closed, .noAnswer, .noAnswer, .closed])
        #expect(limited.state == "closed" && limited.rateLimited && limited.failedPercent == 100)
        #expect(summary([.noAnswer, .answered]).state == "open")
        #expect(summary([.noAnswer]).state == "open|filtered" && !summary([.noAnswer]).rateLimited)
        #expect(summary([.filtered, .noAnswer]).state == "filtered")
        let unmatched = summary([.answered], matched: false)
        #expect(unmatched.state == "open" && unmatched.succeeded == 0 && unmatched.failedPercent == 100)
    }

    @Test("the plan: HOST:PORT, escapes in the payload, a bad pattern named; the policy refuses a denied target")
    func plan() async throws {
        let probe = UDPProbe()
        let parameters = try probe.descriptor.validate(["send": .string(#"a\x00\n"#)])
        let plan = try UDPPlan(ProbeRequest(target: "[fd00::7]:53", parameters: parameters))
        #expect(plan.target.port == 53 && plan.payload == [97, 0, 10])
        #expect(throws: ProbeError.self) { try UDPPlan(ProbeRequest(target: "10.0.0.7", parameters: parameters)) }
        #expect(throws: ProbeError.invalid(parameter: "count", value: "0", allowed: "an integer from 1 to 100000")) {
            try probe.descriptor.validate(["count": .integer(0)])
        }
        let context = ProbeContext(policy: AddressPolicy(deny: [.init(IPNetwork("127.0.0.0/8")!)]))
        await #expect(throws: ProbeError.self) {
            _ = try await probe.run(ProbeRequest(target: "127.0.0.1:9", parameters: try probe.descriptor.validate([:])), context: context) { _ in }
        }
    }
}
