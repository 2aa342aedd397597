extension ParameterSpec {
    /// What a loaded configuration shows in place of a secret (blackbox_exporter's mark).
    public static let secretMark = "<secret>"

    /// The value as it may be shown to whoever reads a loaded configuration (`GET /config`, `/probe?debug=true`):
    /// in header lines, the values of credential headers (`Authorization`, `Cookie`, API keys and tokens) are
    /// replaced by ``secretMark``, and so is PEM text that holds a private key; every other value is shown as it is.
    public func displayed(_ value: ParameterValue) -> ParameterValue {
        if case .text(_, .pem) = type, case .string(let text) = value, text.contains("PRIVATE KEY") { return .string(Self.secretMark) }
        guard case .text(_, .headerLines) = type else { return value }
        switch value {
        case .string(let text):
            return .string(
                text.split(separator: "\n", omittingEmptySubsequences: false).map { Self.masked(header: String($0)) }.joined(separator: "\n"))
        case .list(let lines):
            return .list(lines.map(Self.masked(header:)))
        case .integer, .number, .boolean:
            return value
        }
    }

    /// `Name: value` with the value masked when the name says it carries a credential.
    static func masked(header line: String) -> String {
        guard let colon = line.firstIndex(of: ":") else { return line }
        let name = line[..<colon].lowercased()
        let credential =
            ["authorization", "proxy-authorization", "cookie"].contains(name)
            || ["token", "secret", "key", "password", "auth", "session"].contains { name.contains($0) }
        return credential ? line[..<colon] + ": " + secretMark : line
    }
}

extension ParameterDeclaration {
    /// The values with each one ``ParameterSpec/displayed(_:)``: what a report may show of the parameters in force.
    public func displayed(_ values: ParameterValues) -> ParameterValues {
        var shown = values
        for spec in parameters {
            if let value = values[spec.name] { shown[spec.name] = spec.displayed(value) }
        }
        return shown
    }
}
