public import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A probe implemented by an executable outside Sonde (any language), found in the probes directory.
///
/// Sonde validates the parameters against the executable's own declaration, resolves the target and checks
/// the address against the target policy, then runs `EXECUTABLE --run` with the request as JSON on stdin and
/// reads NDJSON events and a final report from stdout (the protocol: `Docs/external-probes.md`). The child
/// runs with no capabilities, a minimal environment, in its own process group, and is killed with that
/// group at the deadline; what escapes the group is killed when the child ends (Sonde is its subreaper).
public struct ExternalProbe: Probe {
    public let descriptor: ProbeDescriptor
    /// The executable, opened when it was loaded.
    let file: PluginFile
    /// Where it was found.
    public var path: String { file.path }
    let targetAddress: ExternalProbeDescription.TargetAddress
    /// Used when the caller sets no deadline (the CLI).
    static let defaultDeadline: Duration = .seconds(60)

    init(descriptor: ProbeDescriptor, file: PluginFile, targetAddress: ExternalProbeDescription.TargetAddress) {
        self.descriptor = descriptor
        self.file = file
        self.targetAddress = targetAddress
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<ExternalEvent, ExternalSummary> {
        ExternalTextRenderer()
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (ExternalEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<ExternalSummary> {
        let (host, port) = try endpoint(of: request.target)
        let (address, _) = try await context.resolveAuthorized(host, family: .any)
        // An address a plug-in takes as a parameter is one more place it may send to: the same policy applies.
        for spec in descriptor.parameters {
            guard case .text(_, .ipAddress) = spec.type, let text = request.parameters.string(spec.name), let other = IPAddress(text) else {
                continue
            }
            do {
                try context.authorize(other, target: text)
            } catch {
                throw ProbeError(error.code, "\(spec.name): \(error.message)")
            }
        }

        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline(orEarlier: start + Self.defaultDeadline) ?? start + Self.defaultDeadline
        var input: [(String, JSONValue)] = [
            ("target", .string(request.target)), ("address", .string(address.description)),
        ]
        if let port { input.append(("port", .integer(Int(port)))) }
        input.append(("parameters", .object(request.parameters.storage.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) })))
        input.append(("deadlineSeconds", .number((deadline - start).inSeconds)))

        let kind = descriptor.kind
        var report: (success: Bool, summary: JSONValue)?
        var lineNumber = 0
        if let problem = file.trustProblem() {
            throw ProbeError(.probeFailed, "external probe '\(descriptor.kind)' is not run: its file \(path) changed since it was loaded: \(problem)")
        }
        let child = ChildProcess(path: path, file: file, arguments: ["--run"])
        let result = await child.run(input: Array((JSONValue.object(input).serialized() + "\n").utf8), deadline: deadline) { line in
            lineNumber += 1
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)), case .object(var members) = value,
                let type = value["type"]?.stringValue, !type.isEmpty
            else {
                return .stop("printed a line that is not a JSON object with a \"type\" (line \(lineNumber): '\(line.prefix(80))')")
            }
            if type == "report" {
                guard case .boolean(let success)? = value["success"] else {
                    return .stop("printed a report without a boolean \"success\" (line \(lineNumber))")
                }
                report = (success, value["summary"] ?? [:])
                return .done
            }
            if value["target"] == nil { members.append(("target", .string(request.target))) }
            if value["time"] == nil { members.append(("time", .string(SondeJSON.timestamp(Date())))) }
            events(ExternalEvent(fields: .object(members)))
            return .more
        }
        let outcome: ChildProcess.Outcome
        switch result {
        case .success(let value): outcome = value
        case .failure(let error):
            if PluginLauncher.installed?.isGone == true {
                throw ProbeError(
                    .probeFailed,
                    "external probe '\(kind)' could not be started: the plug-in launcher has exited (killed by a plug-in?); restart Sonde to run plug-ins again"
                )
            }
            throw ProbeError(.probeFailed, "external probe '\(kind)' could not be started (\(path)): \(ErrorNumber.message(error.code))")
        }
        let stderrNote = outcome.errorTail.isEmpty ? "" : "; it said: " + outcome.errorTail.split(separator: "\n").suffix(3).joined(separator: " | ")
        switch outcome.ending {
        case .deadline:
            throw ProbeError(
                .probeFailed,
                "external probe '\(kind)' did not report within \(DecimalFormat.shortest(((deadline - start).inSeconds * 10).rounded() / 10)) s and was stopped\(stderrNote)"
            )
        case .overflow(let what), .refused(let what):
            throw ProbeError(.probeFailed, "external probe '\(kind)' \(what) and was stopped\(stderrNote)")
        case .exited(let status):
            guard let report else {
                throw ProbeError(.probeFailed, "external probe '\(kind)' \(Self.describe(status: status)) without a report\(stderrNote)")
            }
            return ProbeReport(
                probe: kind, target: request.target, address: address.description, success: report.success, startedAt: started,
                durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: request.parameters,
                summary: ExternalSummary(fields: report.summary)
            )
        }
    }

    /// The host to resolve and check, and the port when the target has one.
    private func endpoint(of target: String) throws(ProbeError) -> (String, UInt16?) {
        guard targetAddress == .hostPort else { return (target, nil) }
        let parsed = try HostPort(target)
        return (parsed.host, parsed.port)
    }

    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(signal)"
    }
}

/// An external probe's event, as it printed it (with `target` and `time` added when missing).
public struct ExternalEvent: ProbeEvent {
    public var fields: JSONValue
    public var type: String { fields["type"]?.stringValue ?? "event" }

    public init(fields: JSONValue) { self.fields = fields }
    public init(from decoder: any Decoder) throws { fields = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }
}

/// An external probe's statistics, as it printed them in its report.
public struct ExternalSummary: ProbeSummary {
    public var fields: JSONValue

    public init(fields: JSONValue) { self.fields = fields }
    public init(from decoder: any Decoder) throws { fields = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }
}

/// Text for external probes: an event's own `text` field when it has one, else `type key=value …`.
struct ExternalTextRenderer: ProbeTextRenderer {
    func lines(for event: ExternalEvent) -> [TextLine] {
        if let text = event.fields["text"]?.stringValue { return [TextLine(text)] }
        return [TextLine(Self.flat(event.fields, skipping: ["time", "text"]))]
    }

    func lines(for report: ProbeReport<ExternalSummary>) -> [TextLine] {
        [
            TextLine(""), TextLine("--- \(report.target) \(report.probe) ---"),
            TextLine("success=\(report.success) " + Self.flat(report.summary.fields, skipping: [])),
        ]
    }

    static func flat(_ value: JSONValue, skipping: Set<String>) -> String {
        guard case .object(let members) = value else { return value.serialized() }
        return members.filter { !skipping.contains($0.0) }.sorted { $0.0 < $1.0 }.map { key, value in
            if case .string(let text) = value { return "\(key)=\(text)" }
            return "\(key)=\(value.serialized())"
        }.joined(separator: " ")
    }
}
