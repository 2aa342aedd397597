public import SondeCore
public import SondeICMP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// mtr: traceroute and ping at once. Every hop of the path is probed once per cycle with ICMP echo requests whose
/// TTL expires there (over the process's shared ICMP engine), and each hop's loss and round-trip times build up as
/// mtr's table: Loss%, Snt, Last, Avg, Best, Wrst, StDev, every address seen there, and the mark of a hop whose loss
/// is only its ICMP rate limit.
public struct MTRProbe: Probe {
    public static let kind: ProbeKind = "mtr"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "mtr: each hop's loss and round-trip times over several cycles, as mtr --report shows them (ICMP echo)",
        target: "a host name or IP address",
        parameters: [
            ParameterSpec(
                "cycles", .integer(1...1000), default: .integer(10), summary: "Rounds of probes: one probe per hop each",
                cli: .init(short: "c", long: "report-cycles"), role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.01...60), default: .number(1), summary: "Seconds between rounds", cli: .init(short: "i"), role: .interval),
            ParameterSpec(
                "maxHops", .integer(1...64), default: .integer(30), summary: "The highest TTL probed", cli: .init(short: "m", long: "max-ttl")),
            ParameterSpec(
                "firstTtl", .integer(1...64), default: .integer(1), summary: "The TTL to start from", cli: .init(short: "f", long: "first-ttl")),
            ParameterSpec(
                "timeout", .seconds(0.01...60), default: .number(2), summary: "Seconds to wait for each probe's answer before counting it lost",
                cli: .init(short: "Z"), role: .duration),
            ParameterSpec(
                "source", .text(maxLength: 64, format: .ipAddress), summary: "Send from this local address", cli: .init(short: "a", long: "address")),
            FamilyPreference.parameter,
        ],
        checkTogether: { values throws(ProbeError) in _ = try MTRPlan(values) },
        redrawsTable: true
    )

    private let engine: ICMPEngine

    /// - Parameter engine: the process's shared ICMP engine (the one ping and traceroute use).
    public init(engine: ICMPEngine) {
        self.engine = engine
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<MTREvent, MTRSummary> {
        MTRTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (MTREvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<MTRSummary> {
        let plan = try MTRPlan(request.parameters)
        let family = FamilyPreference(request.parameters)
        let (destination, lookup) = try await context.resolveAuthorized(request.target, family: family)
        try destination.checkSource(plan.source)
        let started = Date()
        let start = ContinuousClock.now
        var header = MTREvent("start", target: request.target)
        header.address = destination.description
        header.maxHops = plan.ttls.upperBound
        header.cycles = plan.cycles
        events(header)

        // Every hop at once, one engine session each; the hops past the end of the path stop when it is found.
        let table = MTRTable(ttls: plan.ttls)
        var sessions: [(Int, EchoSession, ObservationChannel)] = []
        defer { for (_, session, _) in sessions { session.close() } }
        for ttl in plan.ttls {
            var options = EchoOptions()
            options.ttl = ttl
            options.source = plan.source
            options.lateWindow = plan.timeout + .seconds(1)
            let schedule = EchoSchedule(
                count: plan.cycles, interval: plan.interval, timeout: plan.timeout, deadline: context.deadline, pacer: context.pacer)
            let channel = ObservationChannel()
            let session = try engine.openSession(to: destination, options: options, schedule: schedule) { channel.deliver($0) }
            sessions.append((ttl, session, channel))
        }
        await withTaskGroup(of: Void.self) { group in
            for (ttl, session, channel) in sessions {
                group.addTask {
                    await Self.collect(
                        ttl: ttl, cycles: plan.cycles, destination: destination, from: channel, into: table, target: request.target, events: events)
                    session.close()
                }
            }
        }
        var summary = MTRSummary(hops: table.hops, destination: destination.description, cycles: plan.cycles, reachedAt: table.reachedAt)
        summary.markRateLimiting()
        return ProbeReport(
            probe: Self.kind, target: request.target, address: destination.description, success: summary.reached, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters, summary: summary,
            lookupSeconds: lookup.inSeconds)
    }

    /// One hop's probes as their answers come, each round numbered in the order its request left.
    private static func collect(
        ttl: Int, cycles: Int, destination: IPAddress, from channel: ObservationChannel, into table: MTRTable, target: String,
        events: @Sendable (MTREvent) -> Void
    ) async {
        var rounds: [Int: Int] = [:]
        var settled: Set<Int> = []
        while settled.count < cycles, !table.isBeyondEnd(ttl), let observation = await channel.next() {
            if case .deadlineReached = observation { break }
            if case .sent(let sequence, _) = observation { rounds[sequence] = rounds.count + 1 }
            guard let answer = HopAnswer.read(observation, destination: destination), let cycle = rounds[answer.sequence],
                !settled.contains(answer.sequence)
            else { continue }
            settled.insert(answer.sequence)
            let update = table.record(ttl: ttl, cycle: cycle, answer: answer)
            if update.beyondEnd { break }
            for told in update.told {
                var event = MTREvent("probe", target: target)
                event.ttl = told.ttl
                event.cycle = told.cycle
                event.outcome = told.probe
                events(event)
            }
            if let completed = update.completedCycles {
                var round = MTREvent("cycle", target: target)
                round.cycle = completed
                round.cycles = cycles
                round.address = destination.description
                round.hops = table.hops
                events(round)
            }
        }
    }
}
