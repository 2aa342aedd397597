public import SondeCore

/// The settings of one command (`sonde serve`, `sonde gateway`), each declared once as a ``ParameterSpec``: the
/// same machinery as probe parameters gives them parsing, bounds, help and error messages, and
/// ``SettingsReader`` reads them from flags, the environment and a JSON config file.
public struct SettingsDeclaration: ParameterDeclaration {
    /// The command (`serve`).
    public let name: String
    public let summary: String
    public let parameters: [ParameterSpec]

    public init(command: String, summary: String, settings: [ParameterSpec]) {
        name = command
        self.summary = summary
        parameters = settings
    }
}
