public import Logging
public import SondeCore
public import SondeServer

/// How `sonde gateway` runs: where it listens, who may call it, which sidecars it may call and how.
///
/// Every setting is declared once in ``GatewaySettings``; flags, environment variables, the config file,
/// `sonde gateway --help` and the error messages come from that declaration.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The bearer token the platform must present; `nil` serves loopback only (unless ``insecure``).
    public var token: String?
    public var insecure: Bool
    /// The networks sidecars may be in (the pod network). Any other `srcIP` is refused with 403.
    public var agents: [IPNetwork]
    /// Addresses never called whatever ``agents`` says: cloud metadata, unspecified, loopback.
    public var neverCalled: [AddressPolicy.Entry]
    /// The sidecars' port; callers cannot choose another.
    public var agentPort: UInt16
    /// The token the gateway shares with the sidecars.
    public var agentToken: String?
    /// How the gateway proves itself to sidecars with ``agentToken``.
    public var agentAuthentication: AgentAuthentication = .signed

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
    public var maxBodyBytes: Int
    public var shutdownGrace: Duration
    public var logFormat: ServerConfiguration.LogFormat
    public var logLevel: Logger.Level
    /// What one connection may hold before it reaches a route.
    package var connectionLimits = ConnectionLimits()
    /// The probes and parameters the gateway's callers may use (`--probes`, `--deny-parameters`), whatever the
    /// sidecars allow.
    public var restrictions = ProbeRestrictions()

    public init(
        host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, insecure: Bool = false, agents: [IPNetwork],
        neverCalled: [AddressPolicy.Entry] = GatewayConfiguration.defaultNeverCalled, agentPort: UInt16 = 8090,
        agentToken: String? = nil, connectTimeout: Duration = .seconds(3), timeout: Duration = .seconds(75),
        maxConcurrent: Int = 256, maxConcurrentPerClient: Int = 32, maxBodyBytes: Int = 16_384,
        shutdownGrace: Duration = .seconds(25), logFormat: ServerConfiguration.LogFormat = .text, logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.insecure = insecure
        self.agents = agents
        self.neverCalled = neverCalled
        self.agentPort = agentPort
        self.agentToken = agentToken
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxConcurrent = maxConcurrent
        self.maxConcurrentPerClient = maxConcurrentPerClient
        self.maxBodyBytes = maxBodyBytes
        self.shutdownGrace = shutdownGrace
        self.logFormat = logFormat
        self.logLevel = logLevel
    }

    /// The sidecar API's default denials plus loopback: a gateway that forwards to itself would reach whatever
    /// listens on its own loopback.
    public static let defaultNeverCalled: [AddressPolicy.Entry] =
        AddressPolicy.defaultDeny + [
            .init(IPNetwork("127.0.0.0/8")!, reason: "loopback: the gateway's own host"),
            .init(IPNetwork("::1/128")!, reason: "loopback: the gateway's own host"),
        ]

    /// Whether the listening address is a loopback address.
    public var listensOnLoopbackOnly: Bool { ServerConfiguration.isLoopback(host) }

    /// Refuses to expose an unauthenticated gateway to the network.
    public func checkExposure() throws(ServerConfigurationError) {
        try ServerConfiguration.checkExposure(host: host, token: token, insecure: insecure)
    }
}

/// The declaration of every `sonde gateway` setting, read like `sonde serve`'s (``ServerSettings``).
public enum GatewaySettings {
    public static let descriptor = ProbeDescriptor(
        kind: "gateway",
        summary: "Forward the platform's probe requests to the sidecar in a pod",
        target: "none",
        parameters: [
            ParameterSpec("agents", .text(maxLength: 8192, format: .any), summary: "Networks the sidecars are in (the pod network), comma-separated CIDRs; any other srcIP gets 403 (required)"),
            ParameterSpec("host", .text(maxLength: 64, format: .ipAddress), summary: "Address to listen on (default: 0.0.0.0 with a token, 127.0.0.1 without)"),
            ParameterSpec("port", .integer(1...65_535), default: .integer(8080), summary: "TCP port to listen on"),
            ParameterSpec("tokenFile", .text(maxLength: 4096, format: .any), summary: "File holding the bearer token callers must send (or set SONDE_TOKEN)"),
            ParameterSpec("insecure", .boolean, default: .boolean(false), summary: "Allow listening beyond loopback without a token"),
            ParameterSpec("agentPort", .integer(1...65_535), default: .integer(8090), summary: "The sidecars' port"),
            ParameterSpec("agentTokenFile", .text(maxLength: 4096, format: .any), summary: "File holding the sidecars' token (or set SONDE_AGENT_TOKEN)"),
            ParameterSpec("agentAuth", .choice(GatewayConfiguration.AgentAuthentication.allCases.map(\.rawValue)), default: .string("signed"), summary: "How requests to sidecars are authenticated: signed (HMAC with the token; the token never leaves) or bearer (the token itself)"),
            ParameterSpec("connectTimeout", .seconds(0.1...60), default: .number(3), summary: "Seconds a sidecar may take to accept the connection; then 504"),
            ParameterSpec("timeout", .seconds(1...86_400), default: .number(75), summary: "Seconds a forwarded request may take, streamed answer included; no answer by then is 504"),
            ParameterSpec("maxConcurrent", .integer(1...100_000), default: .integer(256), summary: "Requests forwarded at once over all callers; more get 429"),
            ParameterSpec("maxConcurrentPerClient", .integer(1...100_000), default: .integer(32), summary: "Requests forwarded at once per caller address; more get 429"),
            ParameterSpec("maxBody", .integer(64...16_777_216), default: .integer(16_384), summary: "Largest request body, in bytes; larger gets 413"),
            ParameterSpec("shutdownGrace", .seconds(0...3600), default: .number(25), summary: "Seconds forwarded requests may take to finish after SIGTERM"),
            ParameterSpec("logFormat", .choice(ServerConfiguration.LogFormat.allCases.map(\.rawValue)), default: .string("text"), summary: "Request log format"),
            ParameterSpec("logLevel", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: .string("info"), summary: "Least severe log level written"),
            ParameterSpec("config", .text(maxLength: 4096, format: .any), summary: "JSON file of settings, keyed by the names above in camelCase"),
        ] + ProbeRestrictions.settings + ConnectionLimits.settings
    )

    /// The environment variable of the token sent to sidecars.
    public static let agentTokenVariable = "SONDE_AGENT_TOKEN"

    /// Builds the configuration from its sources (see ``SettingsReader``).
    public static func configuration(
        flags: [String: ParameterValue], environment: [String: String], readFile: @escaping (String) throws -> [UInt8]
    ) throws(ServerConfigurationError) -> GatewayConfiguration {
        let reader = SettingsReader(descriptor: descriptor, flags: flags, environment: environment, readFile: readFile)
        let values = try reader.values()
        let agents = try SettingsReader.networks(values.string("agents"), setting: "agents")
        guard !agents.isEmpty else {
            throw ServerConfigurationError(
                "missing --agents: the networks the sidecars are in (the pod network, e.g. --agents 10.244.0.0/16); "
                    + "the gateway forwards to no other address"
            )
        }
        let token = try reader.token(variable: ServerSettings.tokenVariable, fileSetting: "tokenFile", values: values)
        var configuration = GatewayConfiguration(
            host: values.string("host") ?? (token == nil ? "127.0.0.1" : "0.0.0.0"),
            port: values.integer("port") ?? 8080,
            token: token,
            insecure: values.boolean("insecure") ?? false,
            agents: agents,
            agentPort: UInt16(values.integer("agentPort") ?? 8090),
            agentToken: try reader.token(variable: agentTokenVariable, fileSetting: "agentTokenFile", values: values),
            connectTimeout: values.duration("connectTimeout") ?? .seconds(3),
            timeout: values.duration("timeout") ?? .seconds(75),
            maxConcurrent: values.integer("maxConcurrent") ?? 256,
            maxConcurrentPerClient: values.integer("maxConcurrentPerClient") ?? 32,
            maxBodyBytes: values.integer("maxBody") ?? 16_384,
            shutdownGrace: values.duration("shutdownGrace") ?? .seconds(25),
            logFormat: values.string("logFormat").flatMap(ServerConfiguration.LogFormat.init(rawValue:)) ?? .text,
            logLevel: values.string("logLevel").flatMap(Logger.Level.init(rawValue:)) ?? .info
        )
        configuration.connectionLimits = ConnectionLimits(values)
        configuration.restrictions = try ProbeRestrictions(values)
        configuration.agentAuthentication = values.string("agentAuth").flatMap(GatewayConfiguration.AgentAuthentication.init(rawValue:)) ?? .signed
        return configuration
    }
}
