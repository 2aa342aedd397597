public import SondeCore
import SondeTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TCP connect ("telnet"): is anything listening at HOST:PORT, how long does the handshake take, and
/// optionally does it talk: a banner, send/expect, TLS with the certificate shown, blackbox's query_response steps.
public struct TCPConnectProbe: Probe {
    public static let kind: ProbeKind = "tcp"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "TCP connect: is the port open, refused or filtered, and how long the handshake takes",
        target: "HOST:PORT or [IPv6]:PORT",
        parameters: [
            ParameterSpec(
                "count", .integer(1...100_000), default: .integer(1), summary: "Connection attempts to make", cli: .init(short: "c"),
                role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.01...3600), default: .number(1), summary: "Seconds between the starts of attempts", cli: .init(short: "i"),
                role: .interval),
            ParameterSpec(
                "timeout", .seconds(0.001...600), default: .number(3),
                summary: "Seconds to wait for the handshake; no answer by then counts as filtered", cli: .init(short: "W"), role: .duration),
            ParameterSpec(
                "deadline", .seconds(0.001...86_400), summary: "Stop after this many seconds, whatever else happens", cli: .init(short: "w"),
                role: .duration),
            ParameterSpec("source", .text(maxLength: 64, format: .ipAddress), summary: "Connect from this local address", cli: .init(short: "s")),
            FamilyPreference.parameter,
            ParameterSpec(
                "banner", .boolean, default: .boolean(false), summary: "After connecting, read the server's first line (or first banner-bytes bytes)",
                cli: .init(short: "b"), role: .content),
            ParameterSpec(
                "bannerBytes", .integer(1...TCPAttempt.maxBannerBytes), default: .integer(256), summary: "Most bytes to read as the banner"),
            ParameterSpec(
                "send", .text(maxLength: 4096, format: .any), summary: "After connecting, send this text (escapes: \\r \\n \\t \\\\ \\xHH)",
                role: .content),
            ParameterSpec(
                "expect", .text(maxLength: 1024, format: .regularExpression),
                summary: "After connecting (and sending), expect a reply matching this RE2 regular expression (within the first 64 KiB)",
                role: .content),
            ParameterSpec(
                "readTimeout", .seconds(0.001...600), default: .number(2), summary: "Seconds to wait for the banner or each expected reply",
                role: .duration),
            ParameterSpec(
                "tls", .boolean, default: .boolean(false), summary: "Speak TLS once connected: the handshake, the certificate and its problems",
            ),
            ParameterSpec(
                "step", .text(maxLength: 8192, format: .lines),
                summary: "A step of blackbox's query_response, in order: expect:REGEX (lines until one matches), expect-bytes:TEXT "
                    + "(exactly these bytes), send:TEXT (a newline appended; ${1} is a group of the last expect), label:NAME=VALUE (after "
                    + "an expect: a label of probe_expect_info, ${1} its group), starttls (repeat --step; in the API, one per line)",
                cli: .init(repeatable: true), role: .content),
        ] + TLSParameters.specs,
        checkTogether: { values throws(ProbeError) in _ = try TCPPlan(ProbeRequest(target: "check.invalid:1", parameters: values)) }
    )

    public init() {}

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<TCPEvent, TCPSummary> {
        TCPTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (TCPEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<TCPSummary> {
        var plan = try TCPPlan(request)
        try plan.attempt.tlsOptions.checkFiles(context)
        if plan.attempt.needsTLS { plan.attempt.tls = try TLSClient(plan.attempt.tlsOptions) }
        let target = plan.target
        let (address, lookup) = try await context.resolveAuthorized(target.host, family: plan.family)
        try plan.checkSource(against: address)
        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline(orEarlier: plan.deadline.map { start + $0 })

        var startEvent = TCPEvent("start", target: request.target)
        startEvent.address = address.description
        startEvent.port = Int(target.port)
        events(startEvent)

        var summary = TCPSummary()
        var connectTimes = RTTStatistics()
        var lastStart = start
        for sequence in 1...plan.count {
            guard await context.waitForTurn(sequence, from: start, every: plan.interval, deadline: deadline) else { break }
            lastStart = .now
            var attemptPlan = plan.attempt
            if let deadline {
                attemptPlan.timeout = min(plan.attempt.timeout, max(deadline - .now, .milliseconds(1)))
                attemptPlan.deadline = deadline
            }
            let result = await TCPAttempt.run(to: address, port: target.port, plan: attemptPlan)
            if result.code == TCPAttempt.cancelled { break }
            summary.attempts += 1
            var event = TCPEvent("attempt", target: request.target, seq: sequence)
            event.address = address.description
            event.port = Int(target.port)
            event.outcome = result.outcome.rawValue
            event.timeMs = result.connectTime.map { Double($0.inMicroseconds) / 1000 }
            if result.code != 0 {
                event.errno = ErrorNumber.name(result.code)
                event.message = ErrorNumber.message(result.code)
            }
            event.banner = result.banner
            event.expect = result.expect
            if let conversation = result.conversation {
                event.steps = conversation.steps.isEmpty ? nil : conversation.steps
                event.tls = conversation.tls
                event.tlsMs = conversation.tlsTime.map { Double($0.inMicroseconds) / 1000 }
                event.failure = conversation.failure
                summary.tls = conversation.tls ?? summary.tls
                if conversation.failedDueToRegex { summary.failedDueToRegex = true }
                if conversation.failedDueToBytes { summary.failedDueToBytes = true }
                if !conversation.expectLabels.isEmpty { summary.expectLabels = conversation.expectLabels }
            }
            switch result.outcome {
            case .open:
                summary.connected += 1
                if let time = result.connectTime { connectTimes.add(microseconds: Int(time.inMicroseconds)) }
                let emptyBanner = plan.attempt.readBanner && plan.attempt.expect == nil && (result.banner ?? "").isEmpty
                if result.expect?.matched == false || emptyBanner || result.conversation?.failure != nil {
                    summary.expectFailures += 1
                }
                if result.expect?.matched == false { summary.failedDueToRegex = true }
            case .refused: summary.refused += 1
            case .timeout: summary.timedOut += 1
            case .unreachable: summary.unreachable += 1
            case .error: summary.errors += 1
            }
            events(event)
        }
        let succeeded = summary.connected - summary.expectFailures
        summary.failedPercent = summary.attempts > 0 ? Double(summary.attempts - succeeded) * 100 / Double(summary.attempts) : 0
        summary.timeMs = Int(((lastStart - start).inMicroseconds + 500) / 1000)
        summary.connect = connectTimes.summary
        return ProbeReport(
            probe: Self.kind,
            target: request.target,
            address: address.description,
            success: succeeded > 0,
            startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds,
            parameters: request.parameters,
            summary: summary,
            lookupSeconds: lookup.inSeconds
        )
    }
}

/// TCPProbe's entry in the generated registry.
public enum TCPProbeRegistration: ProbeModuleRegistration {
    public static func probes(_ resources: ProbeResources) -> [any Probe] { [TCPConnectProbe()] }
}
