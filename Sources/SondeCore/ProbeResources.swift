/// Shared things probes are built with — opened once at start-up, before privileges are dropped (the ICMP
/// engine, for instance) — looked up by type, so the core needs to know none of them.
public struct ProbeResources: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    /// The resource of type `T`, if one was provided.
    public subscript<T: Sendable>(_ type: T.Type) -> T? {
        get { values[ObjectIdentifier(type)] as? T }
        set { values[ObjectIdentifier(type)] = newValue }
    }
}

/// How a probe module hands its probes to the registry.
///
/// Each probe module declares one `<Module>Registration` type conforming to this; the `sonde` executable's
/// build-tool plugin generates the list of them from the executable's dependencies, so adding a probe is
/// adding the module to those dependencies — no hand-kept list.
public protocol ProbeModuleRegistration {
    /// What the module's probes need opened before the privilege drop, and for which of its kinds.
    static var startupNeeds: StartupNeeds { get }
    /// The module's probes, built from the resources opened at start-up.
    static func probes(_ resources: ProbeResources) -> [any Probe]
}

extension ProbeModuleRegistration {
    /// Most probes need nothing opened before the drop.
    public static var startupNeeds: StartupNeeds { .none }
}
