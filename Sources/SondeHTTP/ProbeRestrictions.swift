import HTTPTypes
public import SondeCore

/// Which probes, and which of their parameters, the callers of one listener may use: `--probes ping,dns` and
/// `--deny-parameters tcp.send,tcp.expect` on `sonde serve` (the API's callers) and, separately, on
/// `sonde gateway` (the gateway's callers). Anything else is refused with a 403 naming the setting; the listing
/// and the OpenAPI document leave out what is refused.
///
/// They bind what callers choose. The modules of `GET /probe` are the operator's own: they run as written, but
/// only with an enabled probe.
public struct ProbeRestrictions: Sendable, Equatable {
    /// The kinds callers may run; `nil` for all.
    public var probes: Set<String>?
    /// Parameters callers may not set, by kind.
    public var deniedParameters: [String: Set<String>]

    /// No restriction.
    public init() {
        probes = nil
        deniedParameters = [:]
    }

    /// The two settings, declared once for both listeners.
    public static let settings: [ParameterSpec] = [
        ParameterSpec(
            "probes", .text(maxLength: 1024, format: .any),
            summary: "Probes callers may run, comma-separated kinds (default: all); others get 403"
        ),
        ParameterSpec(
            "denyParameters", .text(maxLength: 4096, format: .any),
            summary: "Parameters callers may not set, comma-separated KIND.NAME (e.g. tcp.send,tcp.expect); they get 403"
        ),
    ]

    /// Reads `probes` and `denyParameters` from settings values.
    public init(_ values: ParameterValues) throws(SettingsError) {
        self.init()
        if let text = values.string("probes") {
            let kinds = Self.items(text)
            guard !kinds.isEmpty else {
                throw SettingsError("invalid value '\(text)' for --probes: expected probe kinds separated by commas, e.g. ping,dns")
            }
            if let bad = kinds.first(where: { !Self.isName($0) }) {
                throw SettingsError("invalid value '\(text)' for --probes: '\(bad)' is not a probe kind (lower-case letters, digits, - and _)")
            }
            probes = Set(kinds)
        }
        for item in Self.items(values.string("denyParameters") ?? "") {
            let parts = item.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, Self.isName(parts[0]), !parts[1].isEmpty, parts[1].utf8.count <= 64 else {
                throw SettingsError(
                    "invalid value '\(item)' in --deny-parameters: expected KIND.NAME (a probe kind and one of its parameters), e.g. tcp.send"
                )
            }
            deniedParameters[parts[0], default: []].insert(parts[1])
        }
    }

    /// Refuses a kind or parameter that none of `descriptors` has: the settings name what is really there.
    public func check(against descriptors: [ProbeDescriptor]) throws(SettingsError) {
        let byKind = Dictionary(descriptors.map { ($0.kind.rawValue, $0) }) { first, _ in first }
        let known = byKind.keys.sorted().joined(separator: ", ")
        for kind in (probes ?? []).sorted() where byKind[kind] == nil {
            throw SettingsError("invalid value '\(kind)' for --probes: no such probe here (expected some of \(known))")
        }
        for (kind, names) in deniedParameters.sorted(by: { $0.key < $1.key }) {
            guard let descriptor = byKind[kind] else {
                throw SettingsError("invalid value '\(kind).…' in --deny-parameters: no probe '\(kind)' here (expected one of \(known))")
            }
            let parameters = descriptor.parameters.map(\.name)
            for name in names.sorted() where !parameters.contains(name) {
                throw SettingsError(
                    "invalid value '\(kind).\(name)' in --deny-parameters: \(kind) has no parameter '\(name)' (it has \(parameters.joined(separator: ", ")))"
                )
            }
        }
    }

    /// Whether callers may run `kind`.
    public func allows(_ kind: String) -> Bool { probes?.contains(kind) ?? true }

    /// Refuses a probe callers may not run, or a parameter they may not set.
    public func authorize(kind: String, parameters: some Sequence<String>) throws(APIError) {
        guard allows(kind) else {
            let enabled = (probes ?? []).sorted().joined(separator: ",")
            throw APIError(.forbidden, code: "probe_disabled", "probe '\(kind)' is disabled here (--probes \(enabled))")
        }
        guard let denied = deniedParameters[kind] else { return }
        for name in parameters where denied.contains(name) {
            throw APIError(
                .forbidden, code: "parameter_disabled",
                "parameter '\(name)' of \(kind) is disabled here (--deny-parameters \(kind).\(name)); leave it out", field: name
            )
        }
    }

    /// `descriptor` as callers see it: without the parameters they may not set; `nil` when the probe is disabled.
    public func published(_ descriptor: ProbeDescriptor) -> ProbeDescriptor? {
        guard allows(descriptor.kind.rawValue) else { return nil }
        guard let denied = deniedParameters[descriptor.kind.rawValue] else { return descriptor }
        return descriptor.with(parameters: descriptor.parameters.filter { !denied.contains($0.name) })
    }

    /// A sidecar's `/v1/probes` listing (`{"probes": [{"kind": …, "parameters": [{"name": …}, …]}, …]}`) as this
    /// listener's callers see it; `nil` when it is not such a listing.
    public func published(listing: JSONValue) -> JSONValue? {
        guard case .object(let members) = listing, case .array(let probes)? = listing["probes"] else { return nil }
        var kept: [JSONValue] = []
        for probe in probes {
            guard case .object(var fields) = probe, let kind = probe["kind"]?.stringValue else { return nil }
            guard allows(kind) else { continue }
            if let denied = deniedParameters[kind], let index = fields.firstIndex(where: { $0.0 == "parameters" }),
                case .array(let parameters) = fields[index].1
            {
                fields[index].1 = .array(parameters.filter { !denied.contains($0["name"]?.stringValue ?? "") })
            }
            kept.append(.object(fields))
        }
        return .object(members.map { $0.0 == "probes" ? ($0.0, .array(kept)) : $0 })
    }

    /// `--probes ping,dns --deny-parameters tcp.send`, for the start-up log; empty without restrictions.
    public var summary: String {
        var parts: [String] = []
        if let probes { parts.append("probes=\(probes.sorted().joined(separator: ","))") }
        let denied = deniedParameters.sorted { $0.key < $1.key }.flatMap { kind, names in names.sorted().map { "\(kind).\($0)" } }
        if !denied.isEmpty { parts.append("denyParameters=\(denied.joined(separator: ","))") }
        return parts.joined(separator: " ")
    }

    private static func items(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmed }.filter { !$0.isEmpty }
    }

    /// A probe kind's spelling: lower-case letters, digits, `-` and `_`, at most 64.
    package static func isName(_ text: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        return !text.isEmpty && text.count <= 64 && text.allSatisfy(allowed.contains)
    }
}
