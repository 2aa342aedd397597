/// What a probe is: its kind, a one-line summary, what its target looks like, and its parameters.
///
/// This is the one declaration the CLI, the API validator, the OpenAPI document and `sonde probes` read.
public struct ProbeDescriptor: Sendable {
    public let kind: ProbeKind
    public let summary: String
    /// What a target is for this probe, e.g. "host name or IP address" or "HOST:PORT".
    public let target: String
    public let parameters: [ParameterSpec]

    public init(kind: ProbeKind, summary: String, target: String, parameters: [ParameterSpec]) {
        self.kind = kind
        self.summary = summary
        self.target = target
        self.parameters = parameters
    }
}

extension ProbeDescriptor: ParameterDeclaration {
    public var name: String { kind.rawValue }
}
