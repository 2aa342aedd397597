public import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads settings declared as parameters (``ServerSettings``, the gateway's) from their sources, lowest
/// precedence first: each setting's default, the JSON config file named by the `config` setting, the
/// environment (`SONDE_MAX_CONCURRENT`) and the command line (`--max-concurrent`).
package struct SettingsReader {
    /// The environment variable of a setting: `maxConcurrent` → `SONDE_MAX_CONCURRENT`.
    package static func environmentName(of name: String) -> String {
        var result = "SONDE_"
        for character in name {
            if character.isUppercase { result += "_" }
            result += character.uppercased()
        }
        return result
    }

    /// The token's own environment variable (a token is never a command-line flag: `ps` would show it).
    package static let tokenVariable = "SONDE_TOKEN"
    /// The largest settings, token or modules file read.
    package static let maxFileBytes = 16 << 20

    package let declaration: SettingsDeclaration
    package let flags: [String: ParameterValue]
    package let environment: [String: String]
    package let readFile: (String) throws -> [UInt8]

    package init(
        declaration: SettingsDeclaration, flags: [String: ParameterValue], environment: [String: String],
        readFile: @escaping (String) throws -> [UInt8]
    ) {
        self.declaration = declaration
        self.flags = flags
        self.environment = environment
        self.readFile = readFile
    }

    /// Every setting, merged from its sources and validated against its declaration.
    package func values() throws(SettingsError) -> ParameterValues {
        var given: [String: ParameterValue] = [:]
        if let configPath = flags["config"]?.description ?? environment[Self.environmentName(of: "config")] {
            given = try fileValues(configPath)
        }
        for spec in declaration.parameters {
            let variable = Self.environmentName(of: spec.name)
            guard let text = environment[variable] else { continue }
            do {
                given[spec.name] = try spec.parse(text)
            } catch {
                throw SettingsError("invalid value '\(text)' for \(variable): expected \(error.allowed)")
            }
        }
        given.merge(flags) { _, flag in flag }
        do {
            return try declaration.validate(given)
        } catch {
            if let refused = error.parameter, let spec = declaration.parameter(named: refused.parameter) {
                throw SettingsError("invalid value '\(refused.value)' for \(spec.longOption): expected \(refused.allowed)")
            }
            throw SettingsError(error.message)
        }
    }

    /// A bearer token from the file named by `fileSetting`, else from the environment `variable`; `nil` if neither.
    /// A token is never a flag: `ps` would show it.
    package func token(variable: String, fileSetting: String, values: ParameterValues) throws(SettingsError) -> String? {
        let raw = try text(ofFileIn: fileSetting, values: values, what: "the token file") ?? environment[variable]
        guard let raw else { return nil }
        let trimmed = raw.trimmed
        guard trimmed.utf8.count >= 16, !trimmed.contains(where: \.isWhitespace) else {
            let source = values.string(fileSetting) ?? variable
            throw SettingsError(
                "the token in \(source) must be at least 16 characters without spaces (e.g. `head -c 32 /dev/urandom | base64`)"
            )
        }
        return trimmed
    }

    /// The text of the file a setting names, or `nil` when the setting is not given.
    package func text(ofFileIn setting: String, values: ParameterValues, what: String) throws(SettingsError) -> String? {
        guard let path = values.string(setting) else { return nil }
        do {
            return String(decoding: try readFile(path), as: UTF8.self)
        } catch {
            throw SettingsError("cannot read \(what) \(path): \(error)")
        }
    }

    /// Parses `10.0.0.0/8, fd00::/8`.
    package static func networks(_ text: String?, setting: String) throws(SettingsError) -> [IPNetwork] {
        guard let text else { return [] }
        var networks: [IPNetwork] = []
        for item in text.split(separator: ",") {
            let trimmed = String(item).trimmed
            guard let network = IPNetwork(trimmed) else {
                throw SettingsError(
                    "invalid network '\(trimmed)' in --\(setting.kebabCased): expected CIDRs such as 10.0.0.0/8 or fd00::/8, comma-separated"
                )
            }
            networks.append(network)
        }
        return networks
    }

    /// Reads the JSON config file: one object of settings.
    private func fileValues(_ path: String) throws(SettingsError) -> [String: ParameterValue] {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            throw SettingsError("cannot read the config file \(path): \(error)")
        }
        let object: [String: ParameterValue]
        do {
            object = try JSONDecoder().decode([String: ParameterValue].self, from: Data(bytes))
        } catch {
            throw SettingsError("the config file \(path) is not a JSON object of settings (e.g. {\"maxConcurrent\": 32}): \(error)")
        }
        if let unknown = object.keys.sorted().first(where: { declaration.parameter(named: $0) == nil || $0 == "config" }) {
            let known = declaration.parameters.map(\.name).filter { $0 != "config" }.joined(separator: ", ")
            throw SettingsError("unknown setting '\(unknown)' in \(path) (known: \(known))")
        }
        return object
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (newlines included).
    package var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// `maxConcurrent` → `max-concurrent`.
    package var kebabCased: String {
        var result = ""
        for character in self {
            if character.isUppercase { result += "-" }
            result += character.lowercased()
        }
        return result
    }
}
