/// Something probes need opened while Sonde still holds its start-up privileges — raw sockets, for instance —
/// declared by the probe module that needs it (``ProbeModuleRegistration/startupNeeds``) and opened by the
/// executable without knowing what it is.
public protocol StartupResource: Sendable {
    /// Opens it. Called once, single-threaded, before the privilege drop: it must start no thread.
    static func open() -> Self
    /// The resource for a command that does not open it: a probe that needs it fails saying `reason`.
    static func unopened(_ reason: String) -> Self
    /// Whether CAP_NET_RAW must be kept after the drop while this resource is open (sockets opened later).
    var keepsNetRaw: Bool { get }
    /// Adds what probes are built with to `resources`. Called after the drop: it may start threads.
    func install(into resources: inout ProbeResources)
    /// How it stands, for `sonde -v`, `/v1/status` and `/metrics`.
    var report: StartupResourceReport { get }
}

/// What a start-up resource says about itself.
public struct StartupResourceReport: Sendable {
    /// One word group for `sonde -v` and the start-up log: `icmp: ipv4=raw ipv6=raw`.
    public var summary: String
    /// Fields of `/v1/status`.
    public var status: [(String, JSONValue)]
    /// Info metrics (each series has the value 1).
    public var infoMetrics: [InfoMetric]

    public init(summary: String, status: [(String, JSONValue)], infoMetrics: [InfoMetric]) {
        self.summary = summary
        self.status = status
        self.infoMetrics = infoMetrics
    }
}

/// An info metric: a name, its help and one label set per series.
public struct InfoMetric: Sendable {
    public var name: String
    public var help: String
    public var series: [[(String, String)]]

    public init(name: String, help: String, series: [[(String, String)]]) {
        self.name = name
        self.help = help
        self.series = series
    }
}

/// Which commands need which start-up resources: those that run one of `kinds` here, and `sonde serve`.
public struct StartupNeeds {
    public var kinds: [ProbeKind]
    public var resources: [any StartupResource.Type]

    public init(kinds: [ProbeKind], resources: [any StartupResource.Type]) {
        self.kinds = kinds
        self.resources = resources
    }

    /// Nothing to open (most probes).
    public static var none: StartupNeeds { StartupNeeds(kinds: [], resources: []) }
}
