import SondeCore

extension BlackboxModules {
    /// The loaded modules in Sonde's module format, secrets masked (``ParameterSpec/displayed(_:)``): what
    /// `GET /config` shows. `descriptors` are the probes' declarations, which say which values are secrets.
    public func displayed(descriptors: [ProbeDescriptor]) -> String {
        guard !modules.isEmpty else { return "modules: {}\n" }
        return "modules:\n"
            + modules.keys.sorted().compactMap { name in
                modules[name].map { "  \(YAMLText.scalar(name)):\n" + $0.displayed(descriptors: descriptors, indent: "    ") }
            }.joined()
    }
}

extension BlackboxModules.Module {
    /// The module's keys as YAML lines under `indent`, secrets masked.
    func displayed(descriptors: [ProbeDescriptor], indent: String = "") -> String {
        var lines = ["probe: \(YAMLText.scalar(probe.rawValue))"]
        if let timeout { lines.append("timeout: \(DecimalFormat.shortest(timeout.inSeconds))s") }
        if let targetParameter { lines.append("target_parameter: \(YAMLText.scalar(targetParameter))") }
        if let probeTarget { lines.append("probe_target: \(YAMLText.scalar(probeTarget))") }
        if let hostname { lines.append("hostname: \(YAMLText.scalar(hostname))") }
        if case .urlDefaultingToHTTP = targetForm {
            lines.append("# target: a URL; without a scheme, http:// is put in front (blackbox's http prober)")
        }
        let declaration = descriptors.first { $0.kind == probe }
        if parameters.isEmpty {
            lines.append("parameters: {}")
        } else {
            lines.append("parameters:")
            for name in parameters.keys.sorted() {
                guard let value = parameters[name] else { continue }
                let shown = declaration?.parameter(named: name)?.displayed(value) ?? value
                lines.append("  \(YAMLText.scalar(name)): \(YAMLText.value(shown))")
            }
        }
        return lines.map { indent + $0 + "\n" }.joined()
    }
}

/// YAML scalars Sonde writes: plain where YAML reads them back as the same text, JSON-quoted otherwise.
enum YAMLText {
    static func scalar(_ text: String) -> String {
        let plain = text.first.map { $0.isLetter || $0 == "_" || $0 == "/" } ?? false
        let safe = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-./".contains($0)) }
        let word = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(text.lowercased())
        return plain && safe && !word ? text : JSONValue.string(text).serialized()
    }

    static func value(_ value: ParameterValue) -> String {
        switch value {
        case .integer(let number): String(number)
        case .number(let number): DecimalFormat.shortest(number)
        case .boolean(let flag): String(flag)
        case .string(let text): JSONValue.string(text).serialized()
        case .list(let items): "[" + items.map { JSONValue.string($0).serialized() }.joined(separator: ", ") + "]"
        }
    }
}
