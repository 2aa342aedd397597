public import SondeCore
import SondeRegex

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// UDP: does anything answer at HOST:PORT, and if not, who says no. Each attempt sends one datagram from a fresh
/// socket and reads the answer or the ICMP error the kernel queues for it (`IP_RECVERR`, no privilege needed):
/// answered, closed (port unreachable, with who sent it), filtered (administratively prohibited, by whom),
/// unreachable, or no answer (open|filtered) — port unreachables that a rate limit swallowed are not read as open.
public struct UDPProbe: Probe {
    public static let kind: ProbeKind = "udp"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "UDP: answered, closed (port unreachable, and from whom), filtered (prohibited, by whom) or no answer",
        target: "HOST:PORT or [IPv6]:PORT",
        parameters: [
            ParameterSpec(
                "count", .integer(1...100_000), default: .integer(1), summary: "Datagrams to send, one per attempt", cli: .init(short: "c"),
                role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.01...3600), default: .number(1), summary: "Seconds between the starts of attempts", cli: .init(short: "i"),
                role: .interval),
            ParameterSpec(
                "timeout", .seconds(0.001...600), default: .number(2),
                summary: "Seconds to wait for an answer or an ICMP error; silence by then is 'no answer' (open|filtered)", cli: .init(short: "W"),
                role: .duration),
            ParameterSpec(
                "deadline", .seconds(0.001...86_400), summary: "Stop after this many seconds, whatever else happens", cli: .init(short: "w"),
                role: .duration),
            ParameterSpec("source", .text(maxLength: 64, format: .ipAddress), summary: "Send from this local address", cli: .init(short: "s")),
            FamilyPreference.parameter,
            ParameterSpec(
                "send", .text(maxLength: UDPPlan.maxPayload, format: .any),
                summary: "The datagram's payload (escapes: \\r \\n \\t \\\\ \\xHH; default: an empty datagram, which many services ignore)",
                role: .content),
            ParameterSpec(
                "expect", .text(maxLength: 1024, format: .regularExpression),
                summary: "An answer counts only if it matches this RE2 regular expression", role: .content),
        ],
        checkTogether: { values throws(ProbeError) in _ = try UDPPlan(ProbeRequest(target: "check.invalid:1", parameters: values)) }
    )

    public init() {}

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<UDPEvent, UDPSummary> {
        UDPTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (UDPEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<UDPSummary> {
        let plan = try UDPPlan(request)
        let (address, lookup) = try await context.resolveAuthorized(plan.target.host, family: plan.family)
        try address.checkSource(plan.source)
        // What comes back from this host's own services is content: shown only where the sidecar allows it.
        let showsReplies = context.policy.map { $0.allowLocalContent || !address.isThisHost } ?? true
        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline(orEarlier: plan.deadline.map { start + $0 })
        var summary = UDPSummary()
        var times = RTTStatistics()
        for seq in 1...plan.count {
            guard await context.waitForTurn(seq, from: start, every: plan.interval, deadline: deadline) else { break }
            let attemptDeadline = min(ContinuousClock.now + plan.timeout, deadline ?? .now + plan.timeout)
            let result = await UDPAttempt.run(to: address, port: plan.target.port, plan: plan, until: attemptDeadline)
            if result.outcome == .cancelled { break }
            var event = UDPEvent("attempt", target: request.target, seq: seq)
            event.address = address.description
            event.port = Int(plan.target.port)
            event.outcome = result.outcome.rawValue
            event.timeMs = result.time.map { Double($0.inMicroseconds) / 1000 }
            event.bytes = result.reply.map(\.count)
            if showsReplies { event.reply = result.reply.map { EscapedText.printable(Array($0.prefix(UDPAttempt.maxShownBytes))) } }
            event.icmp = result.icmp
            event.errno = result.errno.map(ErrorNumber.name)
            event.message = result.message
            if let expect = plan.expect, let reply = result.reply {
                event.matched = expect.matches(reply)
                if event.matched == false { summary.expectFailures += 1 }
            }
            summary.count(result.outcome, matched: event.matched ?? true)
            if result.outcome == .answered, let time = result.time { times.add(microseconds: Int(time.inMicroseconds)) }
            events(event)
        }
        summary.rtt = times.summary
        summary.finish()
        return ProbeReport(
            probe: Self.kind, target: request.target, address: address.description, success: summary.succeeded > 0, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters, summary: summary,
            lookupSeconds: lookup.inSeconds)
    }
}

/// UDPProbe's entry in the generated registry.
public enum UDPProbeRegistration: ProbeModuleRegistration {
    public static func probes(_ resources: ProbeResources) -> [any Probe] { [UDPProbe()] }
}
