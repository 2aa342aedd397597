public import SondeCore
public import SondeICMP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// ICMP echo ("ping") over the process's shared ICMP sockets.
public struct PingProbe: Probe {
    public static let kind: ProbeKind = "ping"

    /// The largest data length per family: 65535 − 20 (IPv4 header) − 8, and 65535 − 8 for IPv6.
    public static let maximumDataLength: [AddressFamily: Int] = [.ipv4: 65_507, .ipv6: 65_527]

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "ICMP echo: is the target reachable, with what loss and round-trip time",
        target: "host name or IPv4/IPv6 address (IPv6 may carry a zone: fe80::1%eth0)",
        parameters: [
            ParameterSpec(
                "count", .integer(1...1_000_000),
                summary: "Stop after sending this many requests (default: until interrupted or the deadline)",
                cli: .init(short: "c"), role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.002...3600), default: .number(1),
                summary: "Seconds between requests", cli: .init(short: "i"), role: .interval),
            ParameterSpec(
                "timeout", .seconds(0.001...3600), default: .number(2),
                summary: "Seconds to wait for each reply; a later reply is reported late and stays lost",
                cli: .init(short: "W"), role: .duration),
            ParameterSpec(
                "deadline", .seconds(0.001...86_400),
                summary: "Stop after this many seconds, whatever else happens; with count, stop once count replies arrived",
                cli: .init(short: "w"), role: .duration),
            ParameterSpec(
                "size", .integer(0...65_527), default: .integer(56),
                summary: "Data bytes per request (at most 65507 over IPv4, 65527 over IPv6)",
                cli: .init(short: "s"), role: .payloadBytes),
            ParameterSpec(
                "ttl", .integer(1...255),
                summary: "IP time to live / IPv6 hop limit of requests", cli: .init(short: "t")),
            ParameterSpec(
                "tos", .integer(0...255),
                summary: "IPv4 type of service / IPv6 traffic class (decimal or 0x hex)", cli: .init(short: "Q")),
            ParameterSpec(
                "pmtuDiscovery", .choice(PMTUDiscovery.allCases.map(\.rawValue)),
                summary: "Path MTU discovery: do (set don't-fragment), want, dont, probe", cli: .init(short: "M")),
            ParameterSpec(
                "interface", .text(maxLength: 64, format: .interfaceOrAddress),
                summary: "Send from this interface name or source address", cli: .init(short: "I")),
            FamilyPreference.parameter,
        ]
    )

    private let engine: ICMPEngine

    /// - Parameter engine: the process's shared ICMP engine.
    public init(engine: ICMPEngine) {
        self.engine = engine
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<PingEvent, PingSummary> {
        PingTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (PingEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<PingSummary> {
        let plan = try PingPlan(request.parameters)
        let family = FamilyPreference(request.parameters)
        let (destination, lookup) = try await context.resolveAuthorized(request.target, family: family)
        let resolved = ContinuousClock.now
        let options = try plan.echoOptions(for: destination)
        let started = Date()
        let startInstant = ContinuousClock.now
        let schedule = EchoSchedule(
            // With a deadline, count means replies: keep sending until they arrived (as iputils does), but
            // never more than the caller's cap.
            count: context.sends(upTo: plan.deadline == nil ? plan.count : nil),
            interval: plan.interval,
            timeout: plan.timeout,
            deadline: context.deadline(orEarlier: plan.deadline.map { startInstant + $0 }),
            pacer: context.pacer
        )

        let channel = ObservationChannel()
        let session = try engine.openSession(to: destination, options: options, schedule: schedule) { channel.deliver($0) }
        defer { session.close() }
        let setup = ContinuousClock.now - resolved

        var start = PingEvent(.start, target: request.target)
        start.address = destination.description
        start.dataBytes = plan.dataLength
        start.socket = session.mode.rawValue
        events(start)

        // `next()` returns nil when the task is cancelled (Ctrl-C, a closed API request).
        var tracker = PingTracker(target: request.target, plan: plan)
        while let observation = await channel.next() {
            if case .deadlineReached = observation { break }
            for event in tracker.observe(observation) { events(event) }
            if tracker.enoughReplies { session.stopSending() }
            if tracker.isFinished { break }
        }
        session.close()
        if Task.isCancelled {
            // Account for what happened before the interruption but was not read yet.
            for observation in channel.drainDelivered() {
                for event in tracker.observe(observation) { events(event) }
            }
        }

        var summary = tracker.summary(start: startInstant)
        summary.resolveMs = Double(lookup.inMicroseconds) / 1000
        summary.setupMs = Double(setup.inMicroseconds) / 1000
        return ProbeReport(
            probe: Self.kind,
            target: request.target,
            address: destination.description,
            success: tracker.succeeded,
            startedAt: started,
            durationSeconds: (ContinuousClock.now - startInstant).inSeconds,
            parameters: request.parameters,
            summary: summary,
            lookupSeconds: lookup.inSeconds
        )
    }
}

/// PingProbe's entry in the generated registry: one ping probe over the process's ICMP engine.
public enum PingProbeRegistration: ProbeModuleRegistration {
    /// Ping needs the ICMP sockets, opened while Sonde may still open raw ones.
    public static var startupNeeds: StartupNeeds { StartupNeeds(kinds: [PingProbe.kind], resources: [ICMPSockets.self]) }

    public static func probes(_ resources: ProbeResources) -> [any Probe] {
        let engine = resources[ICMPEngine.self] ?? ICMPEngine(sockets: .notOpened("no ICMP sockets were opened"))
        return [PingProbe(engine: engine)]
    }
}
