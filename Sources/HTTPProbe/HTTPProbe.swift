public import SondeCore
import SondeTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// HTTP: does the service answer, with which status, and where does the time go (DNS, connect, server,
/// transfer), hop by hop through redirects. Every request takes a fresh connection, so the figures are honest,
/// and every address connected to — each redirect hop's included — passes the caller's target policy.
public struct HTTPProbe: Probe {
    public static let kind: ProbeKind = "http"

    /// The methods the probe sends.
    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "HTTP: does the service answer, with which status, and where the time goes (DNS, connect, server, transfer)",
        target: "http(s)://HOST[:PORT][/PATH] (an IPv6 address in brackets; no scheme: http://)",
        parameters: [
            ParameterSpec(
                "count", .integer(1...10_000), default: .integer(1), summary: "Requests to make", cli: .init(short: "c"), role: .repetitions),
            ParameterSpec(
                "interval", .seconds(0.01...3600), default: .number(1), summary: "Seconds between the starts of requests", cli: .init(short: "i"),
                role: .interval),
            ParameterSpec(
                "method", .choice(methods), summary: "Request method (default GET; POST with --data; HEAD with --head)", cli: .init(short: "X"),
                role: .content),
            ParameterSpec("head", .boolean, default: .boolean(false), summary: "Send HEAD: status and headers only", cli: .init(short: "I")),
            ParameterSpec(
                "header", .text(maxLength: 8192, format: .headerLines),
                summary: "Extra request header 'Name: value' (repeat -H for more; in the API, one per line)",
                cli: .init(short: "H", repeatable: true), role: .content),
            ParameterSpec(
                "data", .text(maxLength: 16_384, format: .multiline),
                summary: "Request body, sent as is (the method becomes POST unless -X says otherwise)",
                cli: .init(short: "d"), role: .content),
            ParameterSpec("userAgent", .text(maxLength: 256, format: .any), summary: "User-Agent header (default: sonde)", cli: .init(short: "A")),
            ParameterSpec(
                "location", .boolean, default: .boolean(false), summary: "Follow redirects (each hop a new connection, checked by the policy)",
                cli: .init(short: "L")),
            ParameterSpec("maxRedirs", .integer(0...50), default: .integer(10), summary: "Most redirects to follow with --location"),
            ParameterSpec(
                "resolve", .text(maxLength: 1024, format: .any),
                summary: "Send HOST:PORT to ADDRESS without a lookup: HOST:PORT:ADDRESS, comma-separated for more (as curl's --resolve)"),
            ParameterSpec(
                "connectTo", .text(maxLength: 1024, format: .any),
                summary: "Connect to HOST2:PORT2 for requests to HOST1:PORT1, URL, Host and SNI unchanged: HOST1:PORT1:HOST2:PORT2, "
                    + "comma-separated for more; an empty field is any host or port (as curl's --connect-to)"),
            ParameterSpec(
                "connectTimeout", .seconds(0.001...600), default: .number(5), summary: "Seconds the TCP handshake may take", role: .duration),
            ParameterSpec(
                "maxTime", .seconds(0.001...3600), default: .number(10), summary: "Seconds one request may take, redirects and body included",
                cli: .init(short: "m"), role: .duration),
            FamilyPreference.parameter,
            ParameterSpec(
                "expectStatus", .text(maxLength: 128, format: .any), default: .string("200-299"),
                summary: "Status codes that count as success: codes and ranges, comma-separated (200-299,301)"),
            ParameterSpec(
                "expectBody", .text(maxLength: 8192, format: .regularExpressionLines),
                summary: "Succeed only if the body matches this RE2 regular expression (within its first 64 KiB; repeat: each must match)",
                cli: .init(repeatable: true), role: .content),
            ParameterSpec(
                "failBody", .text(maxLength: 8192, format: .regularExpressionLines),
                summary: "Fail if the body matches this RE2 regular expression (within its first 64 KiB; repeat: any one fails)",
                cli: .init(repeatable: true), role: .content),
            ParameterSpec(
                "expectHeader", .text(maxLength: 4096, format: .lines),
                summary: "Succeed only if this header is present and matches: 'Name: REGEX' (RE2; repeat for more, in the API one per line)",
                cli: .init(repeatable: true), role: .content),
            ParameterSpec(
                "expectHeaderIfPresent", .text(maxLength: 4096, format: .lines),
                summary: "Fail if this header is present and does not match: 'Name: REGEX' (blackbox's allow_missing; repeatable)",
                cli: .init(repeatable: true), role: .content),
            ParameterSpec(
                "maxBody", .integer(0...1_073_741_824), default: .integer(10_485_760),
                summary: "Most body bytes to read (counted, then discarded); a longer body fails the request"),
            ParameterSpec(
                "httpVersion", .choice(["1.1", "2"]), default: .string("2"),
                summary: "HTTP/2 by ALPN over https when the server picks it (2, as curl and blackbox), or HTTP/1.1 only; http:// speaks 1.1",
                cli: .init(flags: [.init("--http1.1", sets: .string("1.1")), .init("--http2", sets: .string("2"))])),
            ParameterSpec(
                "failHeader", .text(maxLength: 4096, format: .lines),
                summary: "Fail if this header is present and matches: 'Name: REGEX' (RE2; repeatable)", cli: .init(repeatable: true),
                role: .content),
            ParameterSpec(
                "expectVersion", .text(maxLength: 64, format: .any),
                summary: "HTTP versions that count as success, comma-separated: HTTP/1.0, HTTP/1.1, HTTP/2 (default: any)"),
            ParameterSpec(
                "compression", .choice(ContentCoding.allCases.map(\.rawValue)),
                summary: "The body is in this coding (blackbox's compression): decoded before it is counted and checked, and one that is not "
                    + "fails; ask for it with -H 'Accept-Encoding: gzip'"),
            ParameterSpec(
                "compressed", .boolean, default: .boolean(false),
                summary: "Ask for gzip, deflate or br and decode what the server sent (as curl's --compressed)"),
            ParameterSpec("requireTls", .boolean, default: .boolean(false), summary: "Fail unless the final answer came over https"),
            ParameterSpec("failIfTls", .boolean, default: .boolean(false), summary: "Fail if the final answer came over https"),
        ] + TLSParameters.specs,
        checkTogether: { values throws(ProbeError) in _ = try HTTPPlan(ProbeRequest(target: "http://check.invalid/", parameters: values)) }
    )

    public init() {}

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<HTTPEvent, HTTPSummary> {
        HTTPTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (HTTPEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<HTTPSummary> {
        let plan = try HTTPPlan(request)
        try plan.tls.checkFiles(context)
        let tls =
            plan.target.scheme == .https || plan.followRedirects
            ? try TLSClient(plan.tls, applicationProtocols: plan.offersHTTP2 ? ["h2", "http/1.1"] : ["http/1.1"]) : nil
        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline(orEarlier: nil)
        var summary = HTTPSummary()
        var totals = RTTStatistics()
        var firstAddress: IPAddress?
        for seq in 1...plan.count {
            guard await context.waitForTurn(seq, from: start, every: plan.interval, deadline: deadline) else { break }
            var run = HTTPRequestRun(plan: plan, context: context, tls: tls, target: request.target, seq: seq, events: events)
            let outcome = try await run.run(until: deadline)
            firstAddress = firstAddress ?? outcome.firstAddress
            summary.requests += 1
            if outcome.succeeded { summary.succeeded += 1 }
            if let status = outcome.status {
                summary.statuses[String(status), default: 0] += 1
                totals.add(microseconds: Int((outcome.phases.totalMs * 1000).rounded()))
            }
            if let failure = outcome.failure { summary.failures[failure, default: 0] += 1 }
            summary.last = HTTPSummary.LastRequest(
                status: outcome.status, httpVersion: outcome.httpVersion, redirects: outcome.redirects, bodyBytes: outcome.bodyBytes,
                contentLength: outcome.contentLength,
                phases: outcome.phases, failedDueToRegex: outcome.failedDueToRegex, tls: outcome.tls)
        }
        summary.failedPercent = summary.requests > 0 ? Double(summary.requests - summary.succeeded) * 100 / Double(summary.requests) : 0
        summary.total = totals.summary
        return ProbeReport(
            probe: Self.kind, target: request.target, address: firstAddress?.description, success: summary.succeeded > 0, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters, summary: summary,
            lookupSeconds: summary.last?.phases.map { $0.resolveMs / 1000 })
    }
}

/// HTTPProbe's entry in the generated registry.
public enum HTTPProbeRegistration: ProbeModuleRegistration {
    public static func probes(_ resources: ProbeResources) -> [any Probe] { [HTTPProbe()] }
}
