import SondeCore

/// What an external probe prints for `--describe`: the same declaration a compiled-in probe makes.
///
/// ```json
/// {"kind": "http", "summary": "HTTP GET: status and time", "target": "HOST:PORT", "targetAddress": "hostPort",
///  "parameters": [{"name": "path", "type": "text", "maxLength": 200, "default": "/", "summary": "Path to get"}]}
/// ```
struct ExternalProbeDescription: Decodable {
    var kind: String
    var summary: String
    var target: String
    /// How Sonde finds the address the probe will contact, to check it against the target policy.
    var targetAddress: TargetAddress
    var parameters: [Parameter]

    enum TargetAddress: String, Decodable {
        /// The target is a host name or IP address.
        case host
        /// The target is HOST:PORT or [IPv6]:PORT.
        case hostPort
    }

    struct Parameter: Decodable {
        var name: String
        var type: String
        var summary: String
        var minimum: Double?
        var maximum: Double?
        var choices: [String]?
        var maxLength: Int?
        var format: String?
        var role: String?
        var short: String?
        var defaultValue: ParameterValue?

        enum CodingKeys: String, CodingKey {
            case name, type, summary, minimum, maximum, choices, maxLength, format, role, short
            case defaultValue = "default"
        }
    }

    /// The declaration, or why it is refused (named after the executable).
    func descriptor(reserved: Set<String>) throws(DescriptionError) -> ProbeDescriptor {
        guard kind.utf8.count <= 32, let first = kind.first, first.isLowercase, first.isASCII,
            kind.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" })
        else { throw DescriptionError("kind '\(kind)' is not lowercase letters, digits and dashes (at most 32, starting with a letter)") }
        guard !reserved.contains(kind) else {
            throw DescriptionError("kind '\(kind)' is already taken (by a compiled-in probe, a command or another plug-in)")
        }
        guard (1...200).contains(summary.count), (1...200).contains(target.count) else {
            throw DescriptionError("summary and target must be 1 to 200 characters")
        }
        guard parameters.count <= 32 else { throw DescriptionError("more than 32 parameters") }
        var names: Set<String> = ["target"]
        var specs: [ParameterSpec] = []
        for parameter in parameters {
            guard let first = parameter.name.first, first.isLowercase, parameter.name.count <= 32,
                parameter.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }), names.insert(parameter.name).inserted
            else { throw DescriptionError("parameter name '\(parameter.name)' is not a new lowerCamelCase name") }
            specs.append(try spec(parameter))
        }
        return ProbeDescriptor(kind: ProbeKind(rawValue: kind), summary: summary, target: target, parameters: specs)
    }

    private func spec(_ parameter: Parameter) throws(DescriptionError) -> ParameterSpec {
        let type: ParameterSpec.ValueType
        switch parameter.type {
        case "integer":
            guard let low = parameter.minimum, let high = parameter.maximum, low <= high, let lower = Int(exactly: low),
                let upper = Int(exactly: high)
            else {
                throw DescriptionError("parameter '\(parameter.name)': an integer needs whole minimum <= maximum")
            }
            type = .integer(lower...upper)
        case "seconds":
            guard let low = parameter.minimum, let high = parameter.maximum, low.isFinite, high.isFinite, 0 <= low, low <= high,
                high <= Duration.maxCheckedSeconds
            else {
                throw DescriptionError(
                    "parameter '\(parameter.name)': seconds need 0 <= minimum <= maximum <= \(Int(Duration.maxCheckedSeconds))"
                )
            }
            type = .seconds(low...high)
        case "boolean":
            type = .boolean
        case "choice":
            guard let choices = parameter.choices, !choices.isEmpty, choices.count <= 64 else {
                throw DescriptionError("parameter '\(parameter.name)': a choice needs 1 to 64 choices")
            }
            type = .choice(choices)
        case "text":
            guard let maxLength = parameter.maxLength, (1...4096).contains(maxLength) else {
                throw DescriptionError("parameter '\(parameter.name)': text needs maxLength from 1 to 4096")
            }
            guard let format = ParameterSpec.TextFormat(rawValue: parameter.format ?? "any") else {
                throw DescriptionError("parameter '\(parameter.name)': unknown text format '\(parameter.format ?? "")'")
            }
            type = .text(maxLength: maxLength, format: format)
        default:
            throw DescriptionError("parameter '\(parameter.name)': unknown type '\(parameter.type)' (integer, seconds, boolean, choice, text)")
        }
        var role: ParameterSpec.Role?
        if let name = parameter.role {
            guard let known = ParameterSpec.Role(rawValue: name) else {
                throw DescriptionError(
                    "parameter '\(parameter.name)': unknown role '\(name)' (repetitions, interval, duration, payloadBytes, content)")
            }
            role = known
        }
        var cli = ParameterSpec.CommandLineSpelling()
        if let short = parameter.short {
            guard short.count == 1, let letter = short.first, letter.isASCII, letter.isLetter || letter.isNumber else {
                throw DescriptionError("parameter '\(parameter.name)': short must be one letter or digit")
            }
            cli.short = letter
        }
        let spec = ParameterSpec(parameter.name, type, summary: parameter.summary, cli: cli, role: role)
        guard let value = parameter.defaultValue else { return spec }
        do {
            return spec.with(default: .some(try spec.validate(value)))
        } catch {
            throw DescriptionError("parameter '\(parameter.name)': default \(error.value) is not \(error.allowed)")
        }
    }
}

/// Why a plug-in's self-description is refused.
struct DescriptionError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
