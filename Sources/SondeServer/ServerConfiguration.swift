public import SondeCore
public import SondeHTTP

/// How `sonde serve` runs: where it listens, who may call it, what it may probe and how much.
///
/// Every setting is declared once in ``ServerSettings``; flags, environment variables, the config file,
/// `sonde serve --help`, the defaults and the error messages all come from that declaration. Build one with
/// ``ServerSettings/configuration(flags:environment:readFile:)``, then adjust it in code if need be.
public struct ServerConfiguration: Sendable {
    /// Address, token, logging, shutdown grace, restrictions: what `sonde serve` shares with `sonde gateway`.
    public var listener: ListenerConfiguration
    public var policy: AddressPolicy
    public var limits: ServerLimits
    /// Lets `GET /ping/{dstIP}/{count}` through without a token, for platforms that cannot send one.
    public var legacyPingWithoutToken: Bool
    /// The modules file of `GET /probe`, as read (checked when the server is built).
    public var modulesYAML: String?
    /// Where ``modulesYAML`` was read from, for error messages.
    public var modulesFile: String?
}

/// What one request may ask of the network.
public struct ServerLimits: Sendable, Equatable {
    /// Probes running at once, over all callers.
    public var maxConcurrent: Int
    /// Probes running at once for one client address.
    public var maxConcurrentPerClient: Int
    /// Packets or attempts per request (a probe's `count`).
    public var maxCount: Int
    /// Used when a request gives no count and the probe declares no default.
    public var defaultCount: Int
    /// Shortest interval between sends within a request, in seconds.
    public var minInterval: Double
    /// Longest a request may run, in seconds; also the per-request deadline.
    public var maxDuration: Double
    /// Largest payload per packet, in bytes.
    public var maxPayloadBytes: Int
    /// Most bytes of a streamed answer that may wait for a slow reader before the run is stopped.
    public var maxPendingResponseBytes = 1 << 20

    /// Reads them from validated settings values (which carry every default; the fallbacks are never taken).
    init(_ values: ParameterValues) {
        maxConcurrent = values.integer("maxConcurrent") ?? 1
        maxConcurrentPerClient = values.integer("maxConcurrentPerClient") ?? 1
        maxCount = values.integer("maxCount") ?? 1
        defaultCount = min(values.integer("defaultCount") ?? 1, maxCount)
        minInterval = values.number("minInterval") ?? 1
        maxDuration = values.number("maxDuration") ?? 1
        maxPayloadBytes = values.integer("maxPayload") ?? 0
    }
}

extension ServerConfiguration {
    /// The enabled probes' declarations with the limits folded in: what callers and modules are checked against.
    public func descriptors(of registry: ProbeRegistry) -> [ProbeDescriptor] {
        registry.descriptors.filter { listener.restrictions.allows($0.kind.rawValue) }.map(limits.apply)
    }

    /// Judges what `sonde serve` will serve as serving would: the restrictions against the probes, and the
    /// modules file (``modulesYAML``) against the enabled ones. Returns its modules, `nil` without a file.
    public func check(registry: ProbeRegistry) throws(SettingsError) -> BlackboxModules? {
        try listener.restrictions.check(against: registry.descriptors)
        return try modulesYAML.map { yaml throws(SettingsError) in try modules(yaml: yaml, registry: registry) }
    }

    /// The modules of `yaml` (a modules file's text), a module's parameters checked as the operator's own.
    func modules(yaml: String, registry: ProbeRegistry) throws(SettingsError) -> BlackboxModules {
        do {
            return try BlackboxModules(yaml: yaml, descriptors: descriptors(of: registry), files: .system)
        } catch {
            throw SettingsError("\(modulesFile ?? "the modules file"): \(error)")
        }
    }
}
