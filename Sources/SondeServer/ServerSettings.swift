public import SondeCore
public import SondeHTTP

/// The declaration of every `sonde serve` setting.
///
/// Settings are declared like probe parameters, so they share one parser, one validator and one style of
/// error message. Each is read, lowest precedence first, from its default, the JSON config file
/// (`{"maxConcurrent": 32}`), the environment (`SONDE_MAX_CONCURRENT=32`) and the command line
/// (`--max-concurrent 32`).
public enum ServerSettings {
    public static let declaration = SettingsDeclaration(
        command: "serve",
        summary: "Serve the probe API over HTTP (the sidecar)",
        settings: [
            ParameterSpec(
                "allow", .text(maxLength: 8192, format: .any),
                summary: "Only probe addresses in these networks, comma-separated CIDRs (default: all not denied)"),
            ParameterSpec(
                "deny", .text(maxLength: 8192, format: .any),
                summary: "Never probe addresses in these networks, comma-separated CIDRs, on top of the default denials"),
            ParameterSpec(
                "defaultDeny", .boolean, default: .boolean(true),
                summary: "Deny cloud metadata endpoints and unspecified addresses (--default-deny=false to lift)"),
            ParameterSpec(
                "allowLocalContent", .boolean, default: .boolean(false),
                summary:
                    "Allow payloads and returned content (tcp send, expect, banner) towards this pod's own addresses: loopback and its interfaces"),
            ParameterSpec(
                "maxConcurrent", .integer(1...10_000), default: .integer(64), summary: "Probes running at once over all callers; more get 429"),
            ParameterSpec(
                "maxConcurrentPerClient", .integer(1...10_000), default: .integer(8),
                summary: "Probes running at once per client address; more get 429"),
            ParameterSpec("maxCount", .integer(1...1_000_000), default: .integer(100), summary: "Most packets or attempts per request"),
            ParameterSpec(
                "defaultCount", .integer(1...1_000_000), default: .integer(5), summary: "Packets or attempts when a request gives no count"),
            ParameterSpec(
                "minInterval", .seconds(0.002...3600), default: .number(0.2), summary: "Shortest interval between sends within a request, in seconds"),
            ParameterSpec(
                "maxDuration", .seconds(1...86_400), default: .number(60), summary: "Longest a request may run, in seconds (the per-request deadline)"
            ),
            ParameterSpec("maxPayload", .integer(0...65_527), default: .integer(8972), summary: "Largest payload per packet, in bytes"),
            ParameterSpec(
                "legacyPingWithoutToken", .boolean, default: .boolean(false),
                summary: "Serve GET /ping/{dstIP}/{count} without a token (policy and limits still apply)"),
            ParameterSpec(
                "modules", .text(maxLength: 4096, format: .filePath),
                summary:
                    "YAML file of the modules of GET /probe: Sonde's, or blackbox_exporter's blackbox.yml as it is (default: icmp, icmp_single, tcp_connect, dns, udp, traceroute, mtr, tracepath, http_2xx)"
            ),
        ] + ListenerSettings.settings(defaultPort: 8090, inFlight: "in-flight probes")
    )

    /// Builds the configuration from its sources, highest precedence last.
    ///
    /// - Parameters:
    ///   - flags: values parsed from the command line.
    ///   - environment: the process environment.
    ///   - readFile: reads a file's bytes (the config file and the token file).
    public static func configuration(
        flags: [String: ParameterValue],
        environment: [String: String] = [:],
        readFile: @escaping (String) throws -> [UInt8] = SettingsDeclaration.noFiles
    ) throws(SettingsError) -> ServerConfiguration {
        let reader = SettingsReader(declaration: declaration, flags: flags, environment: environment, readFile: readFile)
        let values = try reader.values()
        let policy = AddressPolicy(
            allow: try networks(values.string("allow"), setting: "allow"),
            deny: (values.boolean("defaultDeny") == false ? [] : AddressPolicy.defaultDeny)
                + (try networks(values.string("deny"), setting: "deny")),
            allowLocalContent: values.boolean("allowLocalContent") ?? false
        )
        return ServerConfiguration(
            listener: try ListenerConfiguration(reader: reader, values: values),
            policy: policy,
            limits: ServerLimits(values),
            legacyPingWithoutToken: values.boolean("legacyPingWithoutToken") ?? false,
            modulesYAML: try reader.text(ofFileIn: "modules", values: values, what: "the modules file"),
            modulesFile: values.string("modules")
        )
    }

    /// Parses `10.0.0.0/8, fd00::/8` into policy entries.
    static func networks(_ text: String?, setting: String) throws(SettingsError) -> [AddressPolicy.Entry] {
        try SettingsReader.networks(text, setting: setting).map { .init($0, reason: "--\(setting)") }
    }
}
