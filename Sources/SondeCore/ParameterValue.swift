/// One typed parameter value, as declared by a ``ParameterSpec``.
public enum ParameterValue: Hashable, Sendable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case string(String)
    /// Strings as a JSON list gives them, for a repeatable parameter (`"step": ["send:a", "expect:b"]`); validation
    /// turns it into the one-per-line ``string`` the command line's repeated option makes, so probes see one form.
    case list([String])

    public var description: String {
        switch self {
        case .integer(let value): String(value)
        case .number(let value): DecimalFormat.shortest(value)
        case .boolean(let value): String(value)
        case .string(let value): value
        case .list(let values): values.joined(separator: "\n")
        }
    }
}

extension ParameterValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .boolean(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let values = try? container.decode([String].self) {
            self = .list(values)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .boolean(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }
}

/// The validated parameters of one probe run, keyed by parameter name.
///
/// Only values that passed their ``ParameterSpec`` are stored here; defaults are filled in by
/// ``ProbeDescriptor/validate(_:)``, so probes read values without re-checking bounds.
public struct ParameterValues: Sendable, Hashable, Codable {
    public private(set) var storage: [String: ParameterValue]

    public init(_ storage: [String: ParameterValue] = [:]) { self.storage = storage }

    public subscript(name: String) -> ParameterValue? {
        get { storage[name] }
        set { storage[name] = newValue }
    }

    public func integer(_ name: String) -> Int? {
        if case .integer(let value) = storage[name] { return value }
        return nil
    }

    public func number(_ name: String) -> Double? {
        switch storage[name] {
        case .number(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let value) = storage[name] { return value }
        return nil
    }

    public func string(_ name: String) -> String? {
        if case .string(let value) = storage[name] { return value }
        return nil
    }

    /// A duration parameter (declared in seconds) as a `Duration`; never traps, whatever bounds were declared.
    public func duration(_ name: String) -> Duration? {
        number(name).map { Duration.clampedSeconds($0, within: 0...Duration.maxCheckedSeconds) }
    }

    public init(from decoder: any Decoder) throws {
        storage = try decoder.singleValueContainer().decode([String: ParameterValue].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(storage)
    }
}
