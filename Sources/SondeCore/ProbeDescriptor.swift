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

    public func parameter(named name: String) -> ParameterSpec? {
        parameters.first { $0.name == name }
    }

    /// Validates caller-supplied values against the declarations and fills in defaults.
    ///
    /// - Throws: ``ProbeError`` naming the first unknown parameter or refused value.
    public func validate(_ given: [String: ParameterValue]) throws(ProbeError) -> ParameterValues {
        var values = ParameterValues()
        for name in given.keys.sorted() where parameter(named: name) == nil {
            let known = parameters.map(\.name).joined(separator: ", ")
            throw ProbeError(.unknownParameter, "unknown parameter '\(name)' for \(kind) (known: \(known))")
        }
        for spec in parameters {
            if let value = given[spec.name] {
                do {
                    values[spec.name] = try spec.validate(value)
                } catch {
                    throw ProbeError.invalid(error)
                }
            } else if let defaultValue = spec.defaultValue {
                values[spec.name] = defaultValue
            }
        }
        return values
    }
}
