public import SondeCore
public import SondeHTTP

/// How `sonde gateway` runs: where it listens, who may call it, which sidecars it may call and how.
///
/// Every setting is declared once in ``GatewaySettings``; flags, environment variables, the config file,
/// `sonde gateway --help` and the error messages come from that declaration.
public struct GatewayConfiguration: Sendable {
    /// Address, token, logging, shutdown grace, restrictions: what `sonde gateway` shares with `sonde serve`.
    /// Its ``ListenerConfiguration/restrictions`` are the gateway's own, for its callers, whatever the sidecars allow.
    public var listener: ListenerConfiguration
    /// The networks sidecars may be in (the pod network). Any other `srcIP` is refused with 403.
    public var agents: [IPNetwork]
    /// Addresses never called whatever ``agents`` says: cloud metadata, unspecified, loopback.
    public var neverCalled: [AddressPolicy.Entry] = GatewayConfiguration.defaultNeverCalled
    /// The sidecars' port; callers cannot choose another.
    public var agentPort: UInt16
    /// The token the gateway shares with the sidecars.
    public var agentToken: String?
    /// How the gateway proves itself to sidecars with ``agentToken``.
    public var agentAuthentication: AgentAuthentication

    /// How the gateway proves itself to a sidecar.
    public enum AgentAuthentication: String, Sendable, CaseIterable {
        /// Each request signed with the token (HMAC-SHA256 over pod IP, method, target, time, nonce and body):
        /// whatever answers at a pod's address learns no reusable credential.
        case signed
        /// The token itself as a bearer token, as before: anything listening at a pod's address can take it.
        case bearer
    }
    public var connectTimeout: Duration
    /// How long a forwarded request may take, streamed answer included.
    public var timeout: Duration
    public var maxConcurrent: Int
    public var maxConcurrentPerClient: Int

    /// The sidecar API's default denials plus loopback: a gateway that forwards to itself would reach whatever
    /// listens on its own loopback.
    public static let defaultNeverCalled: [AddressPolicy.Entry] =
        AddressPolicy.defaultDeny + [
            .init(IPNetwork("127.0.0.0/8")!, reason: "loopback: the gateway's own host"),
            .init(IPNetwork("::1/128")!, reason: "loopback: the gateway's own host"),
        ]
}

/// The declaration of every `sonde gateway` setting, read like `sonde serve`'s (``ServerSettings``).
public enum GatewaySettings {
    public static let declaration = SettingsDeclaration(
        command: "gateway",
        summary: "Forward the platform's probe requests to the sidecar in a pod",
        settings: [
            ParameterSpec(
                "agents", .text(maxLength: 8192, format: .any),
                summary: "Networks the sidecars are in (the pod network), comma-separated CIDRs; any other srcIP gets 403 (required)"),
            ParameterSpec("agentPort", .integer(1...65_535), default: .integer(8090), summary: "The sidecars' port"),
            ParameterSpec(
                "agentTokenFile", .text(maxLength: 4096, format: .any), summary: "File holding the sidecars' token (or set SONDE_AGENT_TOKEN)"),
            ParameterSpec(
                "agentAuth", .choice(GatewayConfiguration.AgentAuthentication.allCases.map(\.rawValue)), default: .string("signed"),
                summary:
                    "How requests to sidecars are authenticated: signed (HMAC with the token; the token never leaves) or bearer (the token itself)"),
            ParameterSpec(
                "connectTimeout", .seconds(0.1...60), default: .number(3), summary: "Seconds a sidecar may take to accept the connection; then 504"),
            ParameterSpec(
                "timeout", .seconds(1...86_400), default: .number(75),
                summary: "Seconds a forwarded request may take, streamed answer included; no answer by then is 504"),
            ParameterSpec(
                "maxConcurrent", .integer(1...100_000), default: .integer(256), summary: "Requests forwarded at once over all callers; more get 429"),
            ParameterSpec(
                "maxConcurrentPerClient", .integer(1...100_000), default: .integer(32),
                summary: "Requests forwarded at once per caller address; more get 429"),
        ] + ListenerSettings.settings(defaultPort: 8080, inFlight: "forwarded requests")
    )

    /// The environment variable of the token sent to sidecars.
    public static let agentTokenVariable = "SONDE_AGENT_TOKEN"

    /// Builds the configuration from its sources (see ``SettingsReader``).
    public static func configuration(
        flags: [String: ParameterValue], environment: [String: String] = [:],
        readFile: @escaping (String) throws -> [UInt8] = SettingsDeclaration.noFiles
    ) throws(SettingsError) -> GatewayConfiguration {
        let reader = SettingsReader(declaration: declaration, flags: flags, environment: environment, readFile: readFile)
        let values = try reader.values()
        let agents = try SettingsReader.networks(values.string("agents"), setting: "agents")
        guard !agents.isEmpty else {
            throw SettingsError(
                "missing --agents: the networks the sidecars are in (the pod network, e.g. --agents 10.244.0.0/16); "
                    + "the gateway forwards to no other address"
            )
        }
        return GatewayConfiguration(
            listener: try ListenerConfiguration(reader: reader, values: values),
            agents: agents,
            agentPort: UInt16(values.integer("agentPort") ?? 1),
            agentToken: try reader.token(variable: agentTokenVariable, fileSetting: "agentTokenFile", values: values),
            agentAuthentication: values.string("agentAuth").flatMap(GatewayConfiguration.AgentAuthentication.init(rawValue:)) ?? .signed,
            connectTimeout: values.duration("connectTimeout") ?? .zero,
            timeout: values.duration("timeout") ?? .zero,
            maxConcurrent: values.integer("maxConcurrent") ?? 1,
            maxConcurrentPerClient: values.integer("maxConcurrentPerClient") ?? 1
        )
    }
}
