import SondeCore
import SondeHTTP

extension ServerLimits {
    /// The probe's declaration with this server's limits folded into its bounds and defaults.
    ///
    /// Validation, error messages and the OpenAPI document all read the narrowed declaration, so a caller
    /// sees the limits as the allowed range (`count: an integer from 1 to 100`), never as a surprise.
    public func apply(to descriptor: ProbeDescriptor) -> ProbeDescriptor {
        descriptor.with(parameters: descriptor.parameters.map(narrow))
    }

    private func narrow(_ spec: ParameterSpec) -> ParameterSpec {
        switch (spec.role, spec.type) {
        case (.repetitions?, .integer(let range)):
            let bounds = range.lowerBound...max(range.lowerBound, min(range.upperBound, maxCount))
            return spec.with(type: .integer(bounds), default: .integer(clamp(spec.defaultValue?.integerValue ?? defaultCount, bounds)))
        case (.payloadBytes?, .integer(let range)):
            let bounds = range.lowerBound...max(range.lowerBound, min(range.upperBound, maxPayloadBytes))
            return spec.with(type: .integer(bounds), default: spec.defaultValue.map { .integer(clamp($0.integerValue ?? 0, bounds)) })
        case (.interval?, .seconds(let range)):
            let bounds = min(range.upperBound, max(range.lowerBound, minInterval))...range.upperBound
            return spec.with(type: .seconds(bounds), default: spec.defaultValue.map { .number(clamp($0.numberValue ?? 0, bounds)) })
        case (.duration?, .seconds(let range)):
            let bounds = range.lowerBound...max(range.lowerBound, min(range.upperBound, maxDuration))
            return spec.with(type: .seconds(bounds), default: spec.defaultValue.map { .number(clamp($0.numberValue ?? 0, bounds)) })
        default:
            return spec
        }
    }

    private func clamp<T: Comparable>(_ value: T, _ range: ClosedRange<T>) -> T {
        min(max(value, range.lowerBound), range.upperBound)
    }

    /// Refuses a request whose sends alone would outlast ``maxDuration`` (`count` × `interval`), naming
    /// both values, rather than cutting the run short without saying so.
    func checkRunLength(_ values: ParameterValues, descriptor: ProbeDescriptor) throws(ProbeError) {
        guard let count = descriptor.parameters.first(where: { $0.role == .repetitions }),
            let interval = descriptor.parameters.first(where: { $0.role == .interval }),
            let repetitions = values.integer(count.name), let seconds = values.number(interval.name)
        else { return }
        let total = Double(repetitions - 1) * seconds
        guard total > maxDuration else { return }
        throw ProbeError(
            .invalidParameter,
            "\(count.name) \(repetitions) × \(interval.name) \(DecimalFormat.shortest(seconds)) s takes "
                + "\(DecimalFormat.shortest(total)) s, longer than this server allows per request "
                + "(\(DecimalFormat.shortest(maxDuration)) s): lower \(count.name) or \(interval.name)",
            parameter: ParameterError(
                parameter: count.name, value: String(repetitions),
                allowed: "at most \(Int(maxDuration / seconds) + 1) at an interval of \(DecimalFormat.shortest(seconds)) s"
            )
        )
    }
}

extension ParameterValue {
    var integerValue: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var numberValue: Double? {
        switch self {
        case .number(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
}
