public import SondeCore
import SondeTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// gRPC health: the standard `grpc.health.v1.Health/Check` call, over plaintext HTTP/2 or TLS, for the whole
/// server or one service: does it answer `SERVING`, with which certificate, and how long does a check take.
public struct GRPCProbe: Probe {
    public static let kind: ProbeKind = "grpc"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "gRPC health check (grpc.health.v1.Health/Check): SERVING or not, the gRPC status, the certificate with --tls",
        target: "HOST:PORT, [IPv6]:PORT, or HOST (port 80, or 443 with --tls); https:// implies --tls",
        parameters: [
            ParameterSpec(
                "service", .text(maxLength: 1024, format: .any),
                summary: "The service whose health to ask (default: the whole server, the empty name)"),
            ParameterSpec("tls", .boolean, default: .boolean(false), summary: "Speak TLS (ALPN h2): the handshake, the certificate and its problems"),
            ParameterSpec(
                "count", .integer(1...100_000), default: .integer(1), summary: "Health checks to make, each on a fresh connection",
                cli: .init(short: "c"), role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.01...3600), default: .number(1), summary: "Seconds between the starts of checks", cli: .init(short: "i"),
                role: .interval),
            ParameterSpec(
                "connectTimeout", .seconds(0.001...600), default: .number(5), summary: "Seconds the TCP handshake may take", role: .duration),
            ParameterSpec(
                "maxTime", .seconds(0.001...3600), default: .number(10), summary: "Seconds one check may take: connect, TLS and the call",
                cli: .init(short: "m"), role: .duration),
            ParameterSpec(
                "deadline", .seconds(0.001...86_400), summary: "Stop after this many seconds, whatever else happens", cli: .init(short: "w"),
                role: .duration),
            ParameterSpec(
                "header", .text(maxLength: 8192, format: .headerLines),
                summary: "Request metadata 'Name: value' (repeat -H for more; in the API, one per line)",
                cli: .init(short: "H", repeatable: true), role: .content),
            FamilyPreference.parameter,
        ] + TLSParameters.specs,
        checkTogether: { values throws(ProbeError) in _ = try GRPCPlan(ProbeRequest(target: "check.invalid:1", parameters: values)) }
    )

    public init() {}

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<GRPCEvent, GRPCSummary> {
        GRPCTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (GRPCEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<GRPCSummary> {
        let plan = try GRPCPlan(request)
        try plan.tls.checkFiles(context)
        let client = plan.useTLS ? try TLSClient(plan.tls, applicationProtocols: ["h2"]) : nil
        let (address, lookup) = try await context.resolveAuthorized(plan.host, family: plan.family)
        let mayShowMessages = context.policy.map { $0.allowLocalContent || !address.isThisHost } ?? true
        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline(orEarlier: plan.deadline.map { start + $0 })

        var startEvent = GRPCEvent("start", target: request.target)
        startEvent.address = address.description
        startEvent.port = Int(plan.port)
        startEvent.tls = plan.useTLS
        startEvent.service = plan.service
        events(startEvent)

        var summary = GRPCSummary()
        summary.resolveMs = Double(lookup.inMicroseconds) / 1000
        summary.usedTLS = plan.useTLS
        var checkTimes = RTTStatistics()
        var lastStart = start
        for sequence in 1...plan.count {
            guard await context.waitForTurn(sequence, from: start, every: plan.interval, deadline: deadline) else { break }
            lastStart = .now
            var callDeadline = lastStart + plan.maxTime
            if let deadline { callDeadline = min(callDeadline, deadline) }
            let result = await GRPCCall.run(
                GRPCCall.Request(
                    address: address, port: plan.port, authority: plan.authority, service: plan.service, metadata: plan.metadata,
                    connectTimeout: plan.connectTimeout, deadline: callDeadline,
                    tls: client?.setup(for: plan.host, isTarget: true)))
            if Task.isCancelled { break }
            summary.checks += 1
            var event = GRPCEvent("check", target: request.target, seq: sequence)
            event.address = address.description
            event.port = Int(plan.port)
            event.outcome = result.outcome.rawValue
            event.servingStatus = result.servingStatus.map(ServingStatus.name)
            event.code = result.code
            event.codeName = GRPCStatus.name(result.code)
            event.message = mayShowMessages ? result.message : result.message.map { _ in "(withheld: this host's own address)" }
            event.httpStatus = result.httpStatus
            event.timeMs = Double(result.checkTime.inMicroseconds) / 1000
            event.connectMs = result.connectTime.map { Double($0.inMicroseconds) / 1000 }
            event.tlsMs = result.tlsTime.map { Double($0.inMicroseconds) / 1000 }
            event.tlsFacts = result.tls
            summary.tls = result.tls ?? summary.tls
            summary.lastCode = result.code
            summary.lastCheckMs = event.timeMs
            summary.lastServingStatus = event.servingStatus
            switch result.outcome {
            case .serving: summary.serving += 1
            case .notServing: summary.notServing += 1
            default: summary.failed += 1
            }
            if result.servingStatus != nil { checkTimes.add(microseconds: Int(result.checkTime.inMicroseconds)) }
            events(event)
        }
        summary.failedPercent = summary.checks > 0 ? Double(summary.checks - summary.serving) * 100 / Double(summary.checks) : 0
        summary.timeMs = Int(((lastStart - start).inMicroseconds + 500) / 1000)
        summary.check = checkTimes.summary
        return ProbeReport(
            probe: Self.kind, target: request.target, address: address.description, success: summary.serving > 0, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters, summary: summary,
            lookupSeconds: lookup.inSeconds)
    }
}

/// GRPCProbe's entry in the generated registry.
public enum GRPCProbeRegistration: ProbeModuleRegistration {
    public static func probes(_ resources: ProbeResources) -> [any Probe] { [GRPCProbe()] }
}
