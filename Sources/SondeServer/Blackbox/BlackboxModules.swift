public import SondeCore
public import SondeHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The modules of the blackbox-compatible `GET /probe?module=…&target=…`: each names a Sonde probe and fixes
/// its parameters. The URL gives only `module` and `target`, so a scrape can never ask more of a module than
/// its file allows (no open proxy).
///
/// ```yaml
/// modules:
///   icmp:                      # several packets: loss, duplicates and RTT spread, which blackbox lacks
///     probe: ping
///     timeout: 5s
///     parameters: {count: 5, interval: 0.2}
///   tcp_connect:
///     probe: tcp
///   dns_kubernetes:            # blackbox style: the URL's target is the DNS server
///     probe: dns
///     target_parameter: server
///     probe_target: kubernetes.default.svc.cluster.local
///     parameters: {type: A}
/// ```
public struct BlackboxModules: Sendable {
    public struct Module: Sendable {
        public var name: String
        public var probe: ProbeKind
        /// The module's own timeout; the scrape timeout header may shorten it.
        public var timeout: Duration?
        public var parameters: [String: ParameterValue]
        /// When set, the URL's target goes into this parameter and the probe's target is `probeTarget`.
        public var targetParameter: String?
        public var probeTarget: String?
    }

    public var modules: [String: Module]

    public init(modules: [String: Module]) { self.modules = modules }

    /// Used when no modules file is configured (built in code: no YAML parsing at start-up); a module whose probe
    /// is not compiled in or is disabled here is left out.
    public static func defaults(descriptors: [ProbeDescriptor]) -> BlackboxModules {
        let entries: [String: Entry] = [
            "icmp": Entry(probe: "ping", parameters: ["count": .integer(3), "interval": .number(0.2), "timeout": .number(1)]),
            "icmp_single": Entry(probe: "ping", parameters: ["count": .integer(1), "timeout": .number(1)]),
            "tcp_connect": Entry(probe: "tcp"),
            "dns": Entry(probe: "dns"),
            // blackbox_exporter's default module: any 2xx, redirects followed.
            "http_2xx": Entry(probe: "http", parameters: ["location": .boolean(true)]),
        ]
        let available = entries.filter { entry in descriptors.contains { $0.kind.rawValue == entry.value.probe } }
        return (try? BlackboxModules(entries: available, descriptors: descriptors)) ?? BlackboxModules(modules: [:])
    }

    private struct File: Decodable {
        var modules: [String: Entry]
    }

    private struct Entry: Decodable {
        var probe: String
        var timeout: String?
        var parameters: [String: ParameterValue]?
        // blackbox_exporter's own spelling of the keys of a module.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var target_parameter: String?
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var probe_target: String?

        init(probe: String, parameters: [String: ParameterValue]? = nil) {
            self.probe = probe
            self.parameters = parameters
        }
    }

    /// Parses and checks a modules file against the probes and their (server-narrowed) declarations.
    public init(yaml: String, descriptors: [ProbeDescriptor]) throws(SettingsError) {
        let file: File
        do {
            let tree = try ModulesYAML.parse(yaml)
            file = try JSONDecoder().decode(File.self, from: Data(tree.serialized().utf8))
        } catch {
            throw SettingsError("the modules file is not valid: \(error) (expected `modules:` mapping names to `probe:` and `parameters:`)")
        }
        try self.init(entries: file.modules, descriptors: descriptors)
    }

    private init(entries: [String: Entry], descriptors: [ProbeDescriptor]) throws(SettingsError) {
        var modules: [String: Module] = [:]
        for (name, entry) in entries {
            guard let descriptor = descriptors.first(where: { $0.kind.rawValue == entry.probe }) else {
                let kinds = descriptors.map(\.kind.rawValue).joined(separator: ", ")
                throw SettingsError("module \(name): unknown probe '\(entry.probe)' (expected one of \(kinds))")
            }
            var timeout: Duration?
            if let text = entry.timeout {
                guard let parsed = Self.duration(text) else {
                    throw SettingsError(
                        "module \(name): invalid timeout '\(text)' (expected 1ms to \(Int(Self.maxTimeoutSeconds))s, e.g. 5s, 500ms or 1m)"
                    )
                }
                timeout = parsed
            }
            do {
                _ = try descriptor.validate(entry.parameters ?? [:])
            } catch {
                throw SettingsError("module \(name): \(error.message)")
            }
            if let parameter = entry.target_parameter {
                guard descriptor.parameter(named: parameter) != nil, entry.probe_target != nil else {
                    throw SettingsError("module \(name): target_parameter '\(parameter)' needs a parameter of \(entry.probe) and a probe_target")
                }
            }
            modules[name] = Module(
                name: name, probe: descriptor.kind, timeout: timeout, parameters: entry.parameters ?? [:],
                targetParameter: entry.target_parameter, probeTarget: entry.probe_target
            )
        }
        self.modules = modules
    }

    /// Longest module timeout accepted: a scrape never waits a day.
    static let maxTimeoutSeconds = 86_400.0

    /// `5s`, `500ms`, `1m`, `1.5` (seconds), from 1 ms to ``maxTimeoutSeconds``.
    static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = Substring(text)
        var scale = 1.0
        if let (suffix, unit) = units.first(where: { text.hasSuffix($0.0) }) {
            number = text.dropLast(suffix.count)
            scale = unit
        }
        guard let value = Double(number) else { return nil }
        return Duration.checkedSeconds(value * scale, within: 0.001...maxTimeoutSeconds)
    }
}
