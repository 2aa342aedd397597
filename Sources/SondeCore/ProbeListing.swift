/// One probe as `sonde probes --json` and `GET /v1/probes` list it: its declaration in JSON.
public struct ProbeListing: Encodable, Sendable {
    public struct Parameter: Encodable, Sendable {
        var name: String
        var type: String
        var allowed: String
        var minimum: Double?
        var maximum: Double?
        var choices: [String]?
        var format: String?
        var maxLength: Int?
        var defaultValue: ParameterValue?
        var summary: String
        var option: String

        enum CodingKeys: String, CodingKey {
            case name, type, allowed, minimum, maximum, choices, format, maxLength, summary, option
            case defaultValue = "default"
        }
    }

    var kind: String
    var summary: String
    var target: String
    var parameters: [Parameter]

    public init(_ descriptor: ProbeDescriptor) {
        kind = descriptor.kind.rawValue
        summary = descriptor.summary
        target = descriptor.target
        parameters = descriptor.parameters.map { spec in
            var parameter = Parameter(
                name: spec.name, type: "", allowed: spec.allowedValues, defaultValue: spec.defaultValue,
                summary: spec.summary, option: spec.optionSpellings
            )
            switch spec.type {
            case .integer(let range):
                parameter.type = "integer"
                parameter.minimum = Double(range.lowerBound)
                parameter.maximum = Double(range.upperBound)
            case .seconds(let range):
                parameter.type = "seconds"
                parameter.minimum = range.lowerBound
                parameter.maximum = range.upperBound
            case .boolean:
                parameter.type = "boolean"
            case .choice(let words):
                parameter.type = "choice"
                parameter.choices = words
            case .text(let maxLength, let format):
                parameter.type = "text"
                parameter.maxLength = maxLength
                parameter.format = format == .any ? nil : format.rawValue
            }
            return parameter
        }
    }
}
