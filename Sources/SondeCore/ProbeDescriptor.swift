/// What a probe is: its kind, a one-line summary, what its target looks like, and its parameters.
///
/// This is the one declaration the CLI, the API validator, the OpenAPI document and `sonde probes` read.
public struct ProbeDescriptor: Sendable {
    public let kind: ProbeKind
    public let summary: String
    /// What a target is for this probe, e.g. "host name or IP address" or "HOST:PORT".
    public let target: String
    public let parameters: [ParameterSpec]
    /// Judges validated parameters together, which no one declaration can (`tlsMax` below `tlsMin`, a step that does
    /// not parse), so a module's are refused when its file loads rather than at every scrape; `nil`: the run judges.
    public let checkTogether: (@Sendable (ParameterValues) throws(ProbeError) -> Void)?
    public let redrawsTable: Bool

    public init(
        kind: ProbeKind, summary: String, target: String, parameters: [ParameterSpec],
        checkTogether: (@Sendable (ParameterValues) throws(ProbeError) -> Void)? = nil, redrawsTable: Bool = false
    ) {
        self.redrawsTable = redrawsTable
        self.kind = kind
        self.summary = summary
        self.target = target
        self.parameters = parameters
        self.checkTogether = checkTogether
    }

    /// The same probe with other parameter declarations (narrowed by a server's limits, or some withheld).
    public func with(parameters: [ParameterSpec]) -> ProbeDescriptor {
        ProbeDescriptor(
            kind: kind, summary: summary, target: target, parameters: parameters, checkTogether: checkTogether, redrawsTable: redrawsTable)
    }
}

extension ProbeDescriptor: ParameterDeclaration {
    public var name: String { kind.rawValue }
}
