public import SondeCore
public import SondeHTTP
import SondeYAML

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The modules of the blackbox-compatible `GET /probe?module=…&target=…`: each names a Sonde probe and fixes
/// its parameters. The URL gives only `module` and `target`, so a scrape can never ask more of a module than
/// its file allows (no open proxy).
///
/// A modules file holds Sonde's modules, blackbox_exporter's (its `blackbox.yml` as it is: a module with
/// `prober:`, see ``BlackboxModuleTranslation``), or both:
///
/// ```yaml
/// modules:
///   icmp:                      # several packets: loss, duplicates and RTT spread, which blackbox lacks
///     probe: ping
///     timeout: 5s
///     parameters: {count: 5, interval: 0.2}
///   tcp_connect:
///     probe: tcp
///   dns_kubernetes:            # the URL's target is the DNS server
///     probe: dns
///     target_parameter: server
///     probe_target: kubernetes.default.svc.cluster.local
///     parameters: {type: A}
///   http_2xx:                  # blackbox's own
///     prober: http
///     timeout: 5s
///     http:
///       preferred_ip_protocol: ip4
/// ```
public struct BlackboxModules: Sendable {
    /// How the URL's target becomes the probe's.
    public enum TargetForm: Sendable {
        case asGiven
        /// blackbox's http prober: a target without a scheme is `http://TARGET`.
        case urlDefaultingToHTTP
    }

    public struct Module: Sendable {
        public var name: String
        public var probe: ProbeKind
        /// The module's own timeout; the scrape timeout header may shorten it.
        public var timeout: Duration?
        public var parameters: [String: ParameterValue]
        /// When set, the URL's target goes into this parameter and the probe's target is `probeTarget`.
        public var targetParameter: String?
        public var probeTarget: String?
        public var targetForm: TargetForm = .asGiven
        /// The host an http module's requests name (a blackbox `Host` header), where the URL's target is connected to.
        public var hostname: String?

        /// The probe's target for the URL's `target`.
        public func probeTarget(for target: String) -> String {
            if let probeTarget { return probeTarget }
            switch targetForm {
            case .asGiven: return target
            case .urlDefaultingToHTTP: return target.contains("://") ? target : "http://" + target
            }
        }
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
            // Sonde's own (blackbox has no UDP prober): one datagram, answered or not, and who said no.
            "udp": Entry(probe: "udp"),
            // One probe per hop, a second each: a trace that fits a scrape.
            "traceroute": Entry(probe: "traceroute", parameters: ["queries": .integer(1), "wait": .number(1)]),
            // Five rounds in about two seconds: each hop's loss and times within a scrape.
            "mtr": Entry(probe: "mtr", parameters: ["cycles": .integer(5), "interval": .number(0.2), "timeout": .number(1)]),
            // The path MTU and any black hole on the way; half a second a probe, cut at the scrape's deadline.
            "tracepath": Entry(probe: "tracepath", parameters: ["wait": .number(0.5)]),
            // blackbox_exporter's default module: any 2xx, redirects followed.
            "http_2xx": Entry(probe: "http", parameters: ["location": .boolean(true)], targetForm: .urlDefaultingToHTTP),
        ]
        var modules: [String: Module] = [:]
        for (name, entry) in entries where descriptors.contains(where: { $0.kind.rawValue == entry.probe }) {
            if let module = try? entry.module(name: name, descriptors: descriptors) { modules[name] = module }
        }
        return BlackboxModules(modules: modules)
    }

    /// A module as read from either format, before it is checked against the probes.
    private struct Entry {
        var probe: String
        var timeout: YAMLNode?
        var parameters: [String: ParameterValue] = [:]
        var targetParameter: String?
        var probeTarget: String?
        var targetForm: TargetForm = .asGiven
        var hostname: String?

        init(probe: String, parameters: [String: ParameterValue] = [:], targetForm: TargetForm = .asGiven) {
            self.probe = probe
            self.parameters = parameters
            self.targetForm = targetForm
        }

        init(_ translated: BlackboxModuleTranslation.Result) {
            probe = translated.probe
            timeout = translated.timeout
            parameters = translated.parameters
            targetParameter = translated.targetParameter
            probeTarget = translated.probeTarget
            targetForm = translated.targetForm
            hostname = translated.hostname
        }

        /// Sonde's own format: `probe`, `timeout`, `parameters`, `target_parameter`, `probe_target`, `hostname`.
        init(sonde node: YAMLNode, name: String) throws(SettingsError) {
            probe = ""
            for pair in node.pairs ?? [] {
                let key = pair.key.text ?? ""
                let value = pair.value
                func text() throws(SettingsError) -> String {
                    guard let text = value.text, !value.isNull else {
                        throw SettingsError("module \(name): line \(value.line): \(key) needs a value")
                    }
                    return text
                }
                switch key {
                case "probe": probe = try text()
                case "timeout": timeout = value
                case "target_parameter": targetParameter = try text()
                case "probe_target": probeTarget = try text()
                case "hostname":
                    let host = try text()
                    guard HostName.isValid(host) || IPAddress(host) != nil else {
                        throw SettingsError("module \(name): line \(value.line): hostname '\(host)' is not a host name or an address")
                    }
                    hostname = host
                case "parameters":
                    guard value.isNull || value.pairs != nil else {
                        throw SettingsError("module \(name): line \(value.line): parameters must be a mapping of names to values")
                    }
                    for parameter in value.pairs ?? [] {
                        parameters[parameter.key.text ?? ""] = try Self.parameterValue(parameter.value, module: name, name: parameter.key.text ?? "")
                    }
                default:
                    throw SettingsError(
                        "module \(name): line \(pair.key.line): unknown key \(key) (a Sonde module has probe, timeout, parameters, target_parameter, probe_target, hostname; a blackbox module has prober)"
                    )
                }
            }
        }

        private static func parameterValue(_ node: YAMLNode, module: String, name: String) throws(SettingsError) -> ParameterValue {
            if let items = node.items {
                var texts: [String] = []
                for item in items {
                    guard let text = item.text else {
                        throw SettingsError("module \(module): line \(item.line): \(name) takes a list of texts, not of \(item.kindDescription)")
                    }
                    texts.append(text)
                }
                return .list(texts)
            }
            guard let text = node.text else { throw SettingsError("module \(module): line \(node.line): \(name) cannot be a mapping") }
            if let value = node.boolean { return .boolean(value) }
            if let value = node.integer { return .integer(value) }
            if let value = node.number { return .number(value) }
            return .string(text)
        }

        func module(name: String, descriptors: [ProbeDescriptor]) throws(SettingsError) -> Module {
            guard let descriptor = descriptors.first(where: { $0.kind.rawValue == probe }) else {
                let kinds = descriptors.map(\.kind.rawValue).joined(separator: ", ")
                throw SettingsError("module \(name): unknown probe '\(probe)' (expected one of \(kinds))")
            }
            var duration: Duration?
            if let timeout {
                guard let text = timeout.text, let parsed = BlackboxModules.duration(text) else {
                    throw SettingsError(
                        "module \(name): line \(timeout.line): invalid timeout \(timeout.kindDescription) (expected 1ms to \(Int(BlackboxModules.maxTimeoutSeconds))s, e.g. 5s, 500ms, 1m30s)"
                    )
                }
                duration = parsed
            }
            do {
                let values = try descriptor.validate(parameters)
                try descriptor.checkTogether?(values)
            } catch {
                throw SettingsError("module \(name): \(error.message)")
            }
            if let parameter = targetParameter {
                // The URL's target never names a file for the sidecar to read.
                guard let spec = descriptor.parameter(named: parameter), !spec.isFilePath, probeTarget != nil else {
                    throw SettingsError(
                        "module \(name): target_parameter '\(parameter)' needs a parameter of \(probe) that is not a file, and a probe_target")
                }
            }
            return Module(
                name: name, probe: descriptor.kind, timeout: duration, parameters: parameters, targetParameter: targetParameter,
                probeTarget: probeTarget, targetForm: targetForm, hostname: hostname
            )
        }
    }

    /// Parses and checks a modules file against the probes and their (server-narrowed) declarations; throws the
    /// first error (``read(yaml:descriptors:files:)`` has them all).
    public init(yaml: String, descriptors: [ProbeDescriptor], files: ModuleFiles? = nil) throws(SettingsError) {
        let read = try Self.read(yaml: yaml, descriptors: descriptors, files: files)
        if let first = read.errors.first { throw first }
        self.modules = read.modules
    }

    /// Every module of the file that holds, and an error for each one that does not, in the file's order. Throws
    /// when the file itself is not a modules file.
    /// - Parameter files: where the files a blackbox module names are read (``ModuleFiles``); `nil` refuses them.
    public static func read(yaml: String, descriptors: [ProbeDescriptor], files: ModuleFiles? = nil) throws(SettingsError) -> (
        modules: [String: Module], errors: [SettingsError]
    ) {
        let root: YAMLNode?
        do {
            root = try YAMLNode.parse(yaml)
        } catch {
            throw SettingsError("the modules file is not valid YAML: \(error)")
        }
        guard let root, let top = root.pairs else {
            throw SettingsError("the modules file must be a mapping with `modules:` (each module names a `probe:` or a blackbox `prober:`)")
        }
        var modules: [String: Module] = [:]
        var errors: [SettingsError] = []
        for pair in top {
            guard pair.key.text == "modules" else {
                throw SettingsError("line \(pair.key.line): unknown key \(pair.key.text ?? "") (a modules file has only `modules:`)")
            }
            guard pair.value.isNull || pair.value.pairs != nil else {
                throw SettingsError("line \(pair.value.line): `modules:` must map module names to modules")
            }
            for entry in pair.value.pairs ?? [] {
                let name = entry.key.text ?? ""
                do throws(SettingsError) {
                    guard entry.value.pairs != nil else {
                        throw SettingsError("module \(name): line \(entry.value.line): a module is a mapping, not \(entry.value.kindDescription)")
                    }
                    let read =
                        entry.value["prober"] != nil
                        ? Entry(try BlackboxModuleTranslation.translate(entry.value, name: name, files: files))
                        : try Entry(sonde: entry.value, name: name)
                    modules[name] = try read.module(name: name, descriptors: descriptors)
                } catch {
                    errors.append(error)
                }
            }
        }
        return (modules, errors)
    }

    /// Longest module timeout accepted: a scrape never waits a day.
    static let maxTimeoutSeconds = 86_400.0

    /// A Go duration (`5s`, `500ms`, `1m30s`, `1h`) or plain seconds (`1.5`), from 1 ms to ``maxTimeoutSeconds``.
    static func duration(_ text: String) -> Duration? {
        if let seconds = Double(text) { return Duration.checkedSeconds(seconds, within: 0.001...maxTimeoutSeconds) }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(text)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (suffix, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(suffix.count)
            total += value * scale
        }
        return text.isEmpty ? nil : Duration.checkedSeconds(total, within: 0.001...maxTimeoutSeconds)
    }
}

/// Where a modules file's own files are read (blackbox's `password_file`, `bearer_token_file`, `credentials_file`,
/// `body_file`, `http_headers.files`), at load and at each reload.
public struct ModuleFiles: Sendable {
    let read: @Sendable (String) throws -> [UInt8]

    /// The largest such file read.
    static let maxBytes = 65_536

    /// As blackbox_exporter reads them: an absolute path, or one relative to the working directory.
    public static let system = ModuleFiles { path in try SmallFile.whole(of: path, atMost: ModuleFiles.maxBytes) }

    /// Files from `read` (a test's own).
    public init(read: @escaping @Sendable (String) throws -> [UInt8]) { self.read = read }

    func text(of path: String) throws -> String { String(decoding: try read(path), as: UTF8.self) }
}
