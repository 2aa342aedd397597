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

extension SettingsDeclaration {
    /// The file reader of settings built in code, with no files: a config or token file named there cannot be read.
    public static func noFiles(_ path: String) throws(SettingsError) -> [UInt8] {
        throw SettingsError("no files are read here: \(path)")
    }
}
