public import SondeCore
public import SondeICMP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Traceroute: which routers lie on the way to the target, and where the path stops. Each hop is probed with ICMP
/// echo requests whose TTL expires there (`-I`, over the process's shared ICMP engine: raw sockets, or unprivileged
/// ping sockets with the errors their queue holds); several hops are in flight at once, and a hop that answers only
/// some of its probes while later hops answer all is named rate-limiting, not lossy.
public struct TracerouteProbe: Probe {
    public static let kind: ProbeKind = "traceroute"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "Traceroute: the routers on the way to the target, hop by hop, and where the path stops (ICMP echo, -I)",
        target: "a host name or IP address",
        parameters: [
            ParameterSpec(
                "method", .choice(["icmp"]), default: .string("icmp"),
                summary: "How hops are probed: icmp, ICMP echo requests (traceroute -I; UDP and TCP SYN are not in Sonde yet)",
                cli: .init(flags: [.init("-I", sets: .string("icmp"))])),
            ParameterSpec(
                "queries", .integer(1...10), default: .integer(3), summary: "Probes per hop", cli: .init(short: "q"), role: .repetitions),
            ParameterSpec("maxHops", .integer(1...64), default: .integer(30), summary: "The highest TTL probed", cli: .init(short: "m")),
            ParameterSpec("firstTtl", .integer(1...64), default: .integer(1), summary: "The TTL to start from", cli: .init(short: "f")),
            ParameterSpec(
                "wait", .seconds(0.01...60), default: .number(5), summary: "Seconds to wait for each probe's answer", cli: .init(short: "w"),
                role: .duration),
            ParameterSpec(
                "pause", .seconds(0...10), default: .number(0), summary: "Seconds between the probes of one hop", cli: .init(short: "z"),
                role: .interval),
            ParameterSpec(
                "inFlight", .integer(1...64), default: .integer(16), summary: "Probes in flight at once (whole hops: at least one hop)",
                cli: .init(short: "N")),
            ParameterSpec("source", .text(maxLength: 64, format: .ipAddress), summary: "Send from this local address", cli: .init(short: "s")),
            FamilyPreference.parameter,
        ],
        checkTogether: { values throws(ProbeError) in _ = try TraceroutePlan(values) }
    )

    private let engine: ICMPEngine

    /// - Parameter engine: the process's shared ICMP engine (the one ping uses).
    public init(engine: ICMPEngine) {
        self.engine = engine
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<TracerouteEvent, TracerouteSummary> {
        TracerouteTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (TracerouteEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<TracerouteSummary> {
        let plan = try TraceroutePlan(request.parameters)
        let family = FamilyPreference(request.parameters)
        let (destination, lookup) = try await context.resolveAuthorized(request.target, family: family)
        try destination.checkSource(plan.source)
        let started = Date()
        let start = ContinuousClock.now
        var header = TracerouteEvent("start", target: request.target)
        header.address = destination.description
        header.maxHops = plan.maxHops
        header.method = "icmp"
        events(header)

        var hops: [TracerouteHop] = []
        var ttl = plan.firstTTL
        trace: while ttl <= plan.maxHops, !Task.isCancelled {
            if let deadline = context.deadline, deadline <= .now { break }
            let last = min(ttl + plan.hopsAtOnce - 1, plan.maxHops)
            let window = try await probeHops(ttl...last, to: destination, plan: plan, context: context)
            for hop in window {
                hops.append(hop)
                var event = TracerouteEvent("hop", target: request.target)
                event.hop = hop
                events(event)
                // The path ends at the target, or at a hop that says the target cannot be reached.
                if hop.reached || hop.stops { break trace }
            }
            ttl = last + 1
        }
        var summary = TracerouteSummary(hops: hops, destination: destination.description)
        summary.markRateLimiting()
        for index in summary.hops.indices where summary.hops[index].rateLimiting {
            var event = TracerouteEvent("rate_limited", target: request.target)
            event.hop = summary.hops[index]
            events(event)
        }
        return ProbeReport(
            probe: Self.kind, target: request.target, address: destination.description, success: summary.reached, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters, summary: summary,
            lookupSeconds: lookup.inSeconds)
    }

    /// Probes several hops at once: one engine session per TTL, each sending `queries` echo requests.
    private func probeHops(
        _ ttls: ClosedRange<Int>, to destination: IPAddress, plan: TraceroutePlan, context: ProbeContext
    ) async throws(ProbeError) -> [TracerouteHop] {
        var sessions: [(Int, EchoSession, ObservationChannel)] = []
        defer { for (_, session, _) in sessions { session.close() } }
        for ttl in ttls {
            var options = EchoOptions()
            options.ttl = ttl
            options.source = plan.source
            options.lateWindow = plan.wait + .seconds(1)
            let schedule = EchoSchedule(
                count: plan.queries, interval: max(plan.pause, .milliseconds(1)), timeout: plan.wait, deadline: context.deadline,
                pacer: context.pacer)
            let channel = ObservationChannel()
            let session = try engine.openSession(to: destination, options: options, schedule: schedule) { channel.deliver($0) }
            sessions.append((ttl, session, channel))
        }
        return await withTaskGroup(of: TracerouteHop.self) { group in
            for (ttl, _, channel) in sessions {
                group.addTask { await Self.collect(ttl: ttl, queries: plan.queries, destination: destination, from: channel) }
            }
            var hops: [TracerouteHop] = []
            for await hop in group { hops.append(hop) }
            return hops.sorted { $0.ttl < $1.ttl }
        }
    }

    /// One hop's probes as their answers, errors and timeouts arrive.
    private static func collect(ttl: Int, queries: Int, destination: IPAddress, from channel: ObservationChannel) async -> TracerouteHop {
        var hop = TracerouteHop(ttl: ttl)
        var probes: [Int: TracerouteHop.Probe] = [:]
        while probes.count < queries, let observation = await channel.next() {
            if case .deadlineReached = observation { break }
            guard let answer = HopAnswer.read(observation, destination: destination) else { continue }
            // The engine times out a request that got an error rather than a reply: the error stands.
            if answer.timedOut, probes[answer.sequence] != nil { continue }
            probes[answer.sequence] = answer.probe
            if answer.reached { hop.reached = true }
            if answer.stops { hop.stops = true }
        }
        hop.probes = probes.keys.sorted().compactMap { probes[$0] }
        return hop
    }
}

/// The path probes' entry in the generated registry (traceroute, mtr, tracepath): over the process's ICMP engine, as ping.
public enum TracerouteProbeRegistration: ProbeModuleRegistration {
    public static var startupNeeds: StartupNeeds {
        StartupNeeds(kinds: [TracerouteProbe.kind, MTRProbe.kind, TracepathProbe.kind], resources: [ICMPSockets.self])
    }

    public static func probes(_ resources: ProbeResources) -> [any Probe] {
        let engine = resources[ICMPEngine.self] ?? ICMPEngine(sockets: .notOpened("no ICMP sockets were opened"))
        return [TracerouteProbe(engine: engine), MTRProbe(engine: engine), TracepathProbe(engine: engine)]
    }
}
