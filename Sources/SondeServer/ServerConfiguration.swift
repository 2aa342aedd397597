public import Logging
public import SondeCore
public import SondeHTTP

/// How `sonde serve` runs: where it listens, who may call it, what it may probe and how much.
///
/// Every setting is declared once in ``ServerSettings``; flags, environment variables, the config file,
/// `sonde serve --help` and the error messages all come from that declaration.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The bearer token callers must present; `nil` serves without authentication (loopback only, unless
    /// ``insecure``).
    public var token: String?
    /// The file the token was read from, if it came from one.
    public var tokenFile: String?
    /// Allows listening beyond loopback without a token.
    public var insecure: Bool
    public var policy: AddressPolicy
    public var limits: ServerLimits
    /// How long in-flight probes may take to finish after SIGTERM before they are cancelled.
    public var shutdownGrace: Duration
    public var logFormat: LogFormat
    public var logLevel: Logger.Level
    /// Lets `GET /ping/{dstIP}/{count}` through without a token, for platforms that cannot send one.
    public var legacyPingWithoutToken: Bool
    /// The modules file of `GET /probe`, as read (checked when the server is built).
    public var modulesYAML: String?
    /// The probes and parameters callers may use (`--probes`, `--deny-parameters`).
    public var restrictions = ProbeRestrictions()
    /// What one connection may hold before it reaches a route.
    package var connectionLimits: ConnectionLimits

    public init(
        host: String = "127.0.0.1",
        port: Int = 8090,
        token: String? = nil,
        insecure: Bool = false,
        policy: AddressPolicy = AddressPolicy(),
        limits: ServerLimits = ServerLimits(),
        shutdownGrace: Duration = .seconds(25),
        logFormat: LogFormat = .text,
        logLevel: Logger.Level = .info,
        legacyPingWithoutToken: Bool = false,
        modulesYAML: String? = nil
    ) {
        self.connectionLimits = ConnectionLimits()
        self.host = host
        self.port = port
        self.token = token
        self.insecure = insecure
        self.policy = policy
        self.limits = limits
        self.shutdownGrace = shutdownGrace
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.legacyPingWithoutToken = legacyPingWithoutToken
        self.modulesYAML = modulesYAML
    }

    /// Whether the listening address is a loopback address.
    public var listensOnLoopbackOnly: Bool { Listener.isLoopback(host) }

    /// Refuses a configuration that would expose an unauthenticated probe API to the network.
    public func checkExposure() throws(SettingsError) {
        try Listener.checkExposure(host: host, token: token, insecure: insecure)
    }
}

/// What one request may ask of the network.
public struct ServerLimits: Sendable, Equatable {
    /// Probes running at once, over all callers.
    public var maxConcurrent = 64
    /// Probes running at once for one client address.
    public var maxConcurrentPerClient = 8
    /// Packets or attempts per request (a probe's `count`).
    public var maxCount = 100
    /// Used when a request gives no count and the probe declares no default.
    public var defaultCount = 5
    /// Shortest interval between sends within a request, in seconds.
    public var minInterval = 0.2
    /// Longest a request may run, in seconds; also the per-request deadline.
    public var maxDuration = 60.0
    /// Largest payload per packet, in bytes.
    public var maxPayloadBytes = 8972
    /// Largest request body, in bytes.
    public var maxBodyBytes = 16_384
    /// Most bytes of a streamed answer that may wait for a slow reader before the run is stopped.
    public var maxPendingResponseBytes = 1 << 20

    public init() {}
}
