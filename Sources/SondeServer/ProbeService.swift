import HTTPTypes
import Hummingbird
internal import Logging
import NIOCore
import SondeAuth
import SondeCore
import SondeHTTP
import Synchronization

/// Runs probes for the API: looks the probe up, validates against its declaration narrowed by the
/// server's limits, holds a concurrency slot, applies the target policy and delivers the result in the
/// negotiated format — streamed as it happens, or the report at the end.
struct ProbeService: Sendable {
    let registry: ProbeRegistry
    /// Every enabled probe's declaration with the server's limits folded in.
    let descriptors: [ProbeKind: ProbeDescriptor]
    let restrictions: ProbeRestrictions
    let limits: ServerLimits
    let policy: AddressPolicy
    let limiter: ConcurrencyLimiter
    let metrics: AgentMetrics
    /// Where each run leaves its trace (kind, target, resolved address and port, outcome, client, payload digest).
    var audit: Logger?

    init(registry: ProbeRegistry, configuration: ServerConfiguration, metrics: AgentMetrics) {
        self.metrics = metrics
        self.registry = registry
        self.limits = configuration.limits
        self.policy = configuration.policy
        self.limiter = ConcurrencyLimiter(
            maxTotal: configuration.limits.maxConcurrent, maxPerClient: configuration.limits.maxConcurrentPerClient
        )
        self.restrictions = configuration.listener.restrictions
        var descriptors: [ProbeKind: ProbeDescriptor] = [:]
        for descriptor in configuration.descriptors(of: registry) { descriptors[descriptor.kind] = descriptor }
        self.descriptors = descriptors
    }

    /// The enabled probes' narrowed declarations, in kind order (what modules are checked against).
    var listing: [ProbeDescriptor] { registry.kinds.compactMap { descriptors[$0] } }

    /// What callers see (`/v1/probes`, the OpenAPI document): without the parameters they may not set.
    var published: [ProbeDescriptor] { listing.compactMap(restrictions.published) }

    /// Runs probe `kind` for `input` and answers in `format`.
    func respond(
        kind: String, input: ProbeInput, format: ResponseFormat, client: String, connection: ResponseGuard = .none
    ) async throws(APIError) -> Response {
        let (probe, request) = try prepare(kind: kind, input: input, callerChosen: true)
        let permit = try limiter.acquire(client: client)
        return try await execute(probe, request: request, format: format, permit: permit, connection: connection, client: client)
    }

    /// The probe and the validated request, or the refusal. Parameters a caller chose pass the restrictions;
    /// a module's are the operator's own.
    private func prepare(kind: String, input: ProbeInput, callerChosen: Bool) throws(APIError) -> (any Probe, ProbeRequest) {
        let probeKind = ProbeKind(rawValue: kind)
        guard let probe = registry[probeKind] else {
            let known = listing.map(\.kind.rawValue).joined(separator: ", ")
            throw APIError(.notFound, code: "unknown_probe", "unknown probe '\(kind)': expected one of \(known)")
        }
        try restrictions.authorize(kind: kind, parameters: callerChosen ? Array(input.given.keys) : [])
        guard let descriptor = descriptors[probeKind] else {
            throw APIError(.notFound, code: "unknown_probe", "unknown probe '\(kind)'")
        }
        let parameters: ParameterValues
        do {
            parameters = try descriptor.validate(input.given)
            try limits.checkRunLength(parameters, descriptor: descriptor)
        } catch {
            throw APIError(error)
        }
        return (probe, ProbeRequest(target: input.target, parameters: parameters))
    }

    /// Runs probe `kind` for the blackbox-compatible `/probe`: its result as Prometheus samples, and the
    /// events as log lines for `debug=true`. A probe that could not run (bad or unresolvable target) is a
    /// result too (`probe_success 0`), as blackbox_exporter reports it; a policy refusal stays a 403.
    /// - Parameter keepingLog: keep each event as a JSON line (`/probe?debug=true`); encoding them costs more than
    ///   the probe itself for a fast one, so only when asked.
    func samples(
        kind: String, input: ProbeInput, client: String, timeout: Duration?, keepingLog: Bool = false
    ) async throws(APIError) -> (samples: [MetricSample], log: [String]) {
        let (probe, request) = try prepare(kind: kind, input: input, callerChosen: false)
        let permit = try limiter.acquire(client: client)
        defer { permit.release() }
        return try await sample(probe, request: request, timeout: timeout, client: client, keepingLog: keepingLog)
    }

    private func sample<P: Probe>(
        _ probe: P, request: ProbeRequest, timeout: Duration?, client: String, keepingLog: Bool
    ) async throws(APIError) -> (samples: [MetricSample], log: [String]) {
        let start = ContinuousClock.now
        var context = context(for: request, probe: probe, timeout: timeout)
        // A module's parameters are the operator's (the URL gives only the target, never into a file parameter).
        context.readsOperatorFiles = true
        let log = EventLog()
        do {
            let report = try await counted(probe, request, context: context, client: client) { event in
                if keepingLog { log.append(SondeJSON.line(event)) }
            }
            var samples = [
                MetricSample("probe_success", report.success ? 1 : 0, help: "Whether the probe succeeded"),
                MetricSample("probe_duration_seconds", report.durationSeconds, help: "How long the probe took to complete in seconds"),
            ]
            if let lookup = report.lookupSeconds {
                samples.append(MetricSample("probe_dns_lookup_time_seconds", lookup, help: "Returns the time taken for probe dns lookup in seconds"))
            }
            let address = report.address.flatMap(IPAddress.init)
            samples.append(
                MetricSample(
                    "probe_ip_protocol", address.map { $0.unmapped.family == .ipv4 ? 4 : 6 } ?? 0,
                    help: "Specifies whether probe ip protocol is IP4 or IP6"))
            if let address {
                samples.append(
                    MetricSample(
                        "probe_ip_addr_hash", MetricExposition.addressHash(address),
                        help: "Specifies the hash of IP address. It's useful to detect if the IP address changes."))
            }
            if let reporting = report.summary as? any ProbeMetricsReporting { samples += reporting.metricSamples }
            if keepingLog { log.append(SondeJSON.line(report)) }
            return (samples, log.lines)
        } catch {
            if error.code == .targetDenied || error.code == .socketUnavailable { throw APIError(error) }
            log.append("probe could not run: \(error.message)")
            return (
                [
                    MetricSample("probe_success", 0, help: "Whether the probe succeeded"),
                    MetricSample(
                        "probe_duration_seconds", (ContinuousClock.now - start).inSeconds, help: "How long the probe took to complete in seconds"),
                ], log.lines
            )
        }
    }

    /// Runs `probe`, counted in `/metrics` (in flight while it runs, then by kind, outcome — `success`, `failure`,
    /// `error` when it could not run — and duration) and traced in the ``audit`` log.
    private func counted<P: Probe>(
        _ probe: P, _ request: ProbeRequest, context: ProbeContext, client: String, events: @escaping @Sendable (P.Event) -> Void
    ) async throws(ProbeError) -> ProbeReport<P.Summary> {
        let kind = probe.descriptor.kind.rawValue
        let start = ContinuousClock.now
        metrics.probeStarted()
        do {
            var report = try await probe.run(request, context: context, events: events)
            // A module's credentials are the operator's, and a report may be kept where others read it.
            report.parameters = probe.descriptor.displayed(report.parameters)
            let outcome = report.success ? "success" : "failure"
            metrics.probeFinished(kind: kind, outcome: outcome, duration: .now - start)
            trace(probe, request, context: context, client: client, address: report.address, outcome: outcome)
            return report
        } catch {
            metrics.probeFinished(kind: kind, outcome: "error", duration: .now - start)
            trace(probe, request, context: context, client: client, address: nil, outcome: "error: \(error.code)")
            throw error
        }
    }

    /// One audit line per run, so that misuse leaves a trace: what was probed, where it went, and a digest of any
    /// payload or pattern the caller sent (never the payload itself).
    private func trace(
        _ probe: some Probe, _ request: ProbeRequest, context: ProbeContext, client: String, address: String?, outcome: String
    ) {
        guard let audit, audit.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "probe": "\(probe.descriptor.kind)", "target": "\(request.target)", "client": "\(client)", "outcome": "\(outcome)",
        ]
        if let address { metadata["address"] = "\(address)" }
        if let port = (try? HostPort(request.target))?.port { metadata["port"] = "\(port)" }
        if !context.contentParameters.isEmpty {
            let content = context.contentParameters.map { "\($0)=\(request.parameters[$0]?.description ?? "")" }.joined(separator: "\n")
            metadata["content"] = "\(context.contentParameters.joined(separator: ","))"
            metadata["contentSHA256"] = "\(SHA256.hash(content.utf8).hexString.prefix(16))"
        }
        audit.info("probe", metadata: metadata)
    }

    /// The context of one API run: the server's deadline and policy, and the content parameters in use.
    private func context(for request: ProbeRequest, probe: some Probe, timeout: Duration? = nil) -> ProbeContext {
        let maxDuration = Duration.clampedSeconds(limits.maxDuration, within: 0...Duration.maxCheckedSeconds)
        let content = probe.descriptor.parameters.filter { spec in
            spec.role == .content && request.parameters[spec.name].map { $0 != .boolean(false) } == true
        }
        return ProbeContext(
            deadline: .now + min(maxDuration, timeout ?? maxDuration), policy: policy, contentParameters: content.map(\.name),
            maxSends: limits.maxCount
        )
    }

    private func execute<P: Probe>(
        _ probe: P, request: ProbeRequest, format: ResponseFormat, permit: ConcurrencyLimiter.Permit, connection: ResponseGuard,
        client: String
    ) async throws(APIError) -> Response {
        let context = context(for: request, probe: probe)
        // The permit is held until the answer is written (or the caller is gone), and the answer must be
        // written by the run's deadline plus a grace period, or the connection is cut.
        let writtenBy = (context.deadline ?? .now) + ResponseGuard.writeGrace
        guard format.isStreaming else {
            // The report alone: run in this request's own task (its cancellation reaches the probe).
            let report: ProbeReport<P.Summary>
            do {
                report = try await counted(probe, request, context: context, client: client) { _ in }
            } catch {
                permit.release()
                throw APIError(error)
            }
            let body = ByteBuffer(string: SondeJSON.line(report) + "\n")
            return Response(
                status: .ok, headers: [.contentType: format.contentType],
                body: ResponseBody(contentLength: body.readableBytes) { writer in
                    defer { permit.release() }
                    try await connection.writing(by: writtenBy) {
                        try await writer.write(body)
                        try await writer.finish(nil)
                    }
                }
            )
        }
        let encoder = ChunkEncoder<P>(format: format, renderer: probe.textRenderer(options: TextRenderingOptions()))
        let buffer = BoundedChunks(budget: limits.maxPendingResponseBytes)
        let run = Task {
            defer { buffer.finish() }
            do throws(ProbeError) {
                let report = try await counted(probe, request, context: context, client: client) {
                    buffer.append(encoder.encode(.event($0)))
                }
                buffer.append(encoder.encode(.report(report)))
            } catch {
                buffer.fail(error, encoded: encoder.encode(.failed(error)))
            }
        }
        buffer.setCancellation { run.cancel() }
        // Wait for the first chunk before answering: a refusal (bad target, denied address) must still be an
        // HTTP error status, which is only possible before the response head is sent.
        let first = await withTaskCancellationHandler {
            await buffer.next()
        } onCancel: {
            run.cancel()
        }
        if case .failed(let error, _)? = first {
            permit.release()
            throw APIError(error)
        }

        var headers: HTTPFields = [.contentType: format.contentType]
        headers[.cacheControl] = "no-store"
        // Ask proxies (nginx) not to buffer: each event must reach the caller when it happens.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // A write that fails means the caller went away: stop the probe.
                defer {
                    run.cancel()
                    permit.release()
                }
                try await connection.writing(by: writtenBy) {
                    var next = first
                    while let chunk = next {
                        try await writer.write(ByteBuffer(string: chunk.text))
                        buffer.consumed(chunk.text.utf8.count)
                        next = await buffer.next()
                    }
                    if buffer.overflowed {
                        let error = StreamError(
                            code: "client_too_slow",
                            message:
                                "the probe was stopped: more than \(limits.maxPendingResponseBytes) bytes of its answer were waiting for this client to read them"
                        )
                        try await writer.write(ByteBuffer(string: encoder.encode(error)))
                    }
                    try await writer.finish(nil)
                }
            }
        )
    }
}

/// What a running probe hands to the response: its events, then its report or the reason it could not run.
enum ProbeChunk<P: Probe>: Sendable {
    case event(P.Event)
    case report(ProbeReport<P.Summary>)
    case failed(ProbeError)

    var isFinal: Bool {
        if case .event = self { return false }
        return true
    }
}

/// Writes chunks in a streaming format: NDJSON lines, server-sent events, or the CLI's text.
struct ChunkEncoder<P: Probe>: @unchecked Sendable {
    let format: ResponseFormat
    /// Renderers are plain values of the probe module; this one is only used by the body writer.
    let renderer: any ProbeTextRenderer<P.Event, P.Summary>

    func encode(_ chunk: ProbeChunk<P>) -> String {
        switch (format, chunk) {
        case (.text, .event(let event)): return text(renderer.lines(for: event))
        case (.text, .report(let report)): return text(renderer.lines(for: report))
        case (.text, .failed(let error)): return "sonde: \(error.message)\n"
        case (.eventStream, .event(let event)): return "event: \(event.type)\ndata: \(SondeJSON.line(event))\n\n"
        case (.eventStream, .report(let report)): return "event: report\ndata: \(SondeJSON.line(report))\n\n"
        case (.eventStream, .failed(let error)): return "event: error\ndata: \(SondeJSON.line(StreamError(error)))\n\n"
        case (_, .event(let event)): return SondeJSON.line(event) + "\n"
        case (_, .report(let report)): return SondeJSON.line(report) + "\n"
        case (_, .failed(let error)): return SondeJSON.line(StreamError(error)) + "\n"
        }
    }

    /// A failure of the response itself (not of the probe), in the stream's format.
    func encode(_ error: StreamError) -> String {
        switch format {
        case .text: return "sonde: \(error.message)\n"
        case .eventStream: return "event: error\ndata: \(SondeJSON.line(error))\n\n"
        default: return SondeJSON.line(error) + "\n"
        }
    }

    private func text(_ lines: [TextLine]) -> String {
        lines.map { $0.text + "\n" }.joined()
    }
}

/// A failure after the stream began, as a line of the stream (`{"type":"error",…}`).
struct StreamError: Encodable {
    var type = "error"
    var code: String
    var message: String

    init(_ error: ProbeError) {
        code = error.code.rawValue
        message = error.message
    }

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// Lines collected from a probe's event callback (called from any thread, in order).
final class EventLog: Sendable {
    private let stored = Mutex<[String]>([])
    func append(_ line: String) { stored.withLock { $0.append(line) } }
    var lines: [String] { stored.withLock { $0 } }
}
