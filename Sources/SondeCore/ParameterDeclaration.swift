/// A set of parameters declared once — a probe's (``ProbeDescriptor``) or a command's settings — from which the
/// command line, validation, help, the OpenAPI document and error messages are all read.
public protocol ParameterDeclaration: Sendable {
    /// The command or probe kind, as messages name it (`ping`, `serve`).
    var name: String { get }
    var parameters: [ParameterSpec] { get }
    /// Its text output is a table redrawn in place on a terminal (mtr's): the command line then takes
    /// `-r/--report` and `-w/--report-wide`.
    var redrawsTable: Bool { get }
}

extension ParameterDeclaration {
    public var redrawsTable: Bool { false }

    public func parameter(named name: String) -> ParameterSpec? {
        parameters.first { $0.name == name }
    }

    /// Validates caller-supplied values against the declarations and fills in defaults.
    ///
    /// - Throws: ``ProbeError`` naming the first unknown parameter or refused value.
    public func validate(_ given: [String: ParameterValue]) throws(ProbeError) -> ParameterValues {
        var values = ParameterValues()
        for unknown in given.keys.sorted() where parameter(named: unknown) == nil {
            let known = parameters.map(\.name).joined(separator: ", ")
            throw ProbeError(.unknownParameter, "unknown parameter '\(unknown)' for \(name) (known: \(known))")
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
