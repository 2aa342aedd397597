import PingProbe
import SondeCore

/// The probes compiled into `sonde`. The list of probe modules is generated at build time from this target's
/// dependencies in Package.swift (ProbeRegistryPlugin): a probe module plugs in by being a dependency.
enum Registration {
    static func makeRegistry(icmp: ICMPEngine) -> ProbeRegistry {
        var resources = ProbeResources()
        resources[ICMPEngine.self] = icmp
        return ProbeRegistry(GeneratedProbeModules.probes(resources))
    }
}
