import SondeCore

/// The probes compiled into `sonde`. The list of probe modules is generated at build time from this target's
/// dependencies in Package.swift (ProbeRegistryPlugin): a probe module plugs in by being a dependency. What a
/// module needs opened before the privilege drop it declares itself (``StartupNeeds``); this file opens it
/// without knowing what it is.
enum Registration {
    /// The start-up resources of every module, opened for the commands that need them and unopened otherwise.
    struct Opened {
        var resources: [any StartupResource]
        /// Those opened for this command (the others are there so their probes can say why they cannot run).
        var opened: [any StartupResource]

        /// Whether CAP_NET_RAW must be kept after the drop.
        var keepsNetRaw: Bool { opened.contains { $0.keepsNetRaw } }

        /// `icmp: ipv4=raw ipv6=raw …`, for `sonde -v` and the start-up log.
        var summary: String { resources.map(\.report.summary).joined(separator: " ") }
    }

    /// Opens what the probes `command` runs here need (everything for `sonde serve`, nothing for a probe run
    /// on an agent). Call single-threaded, before the privilege drop.
    static func openStartupResources(command: String?, serving: Bool, local: Bool) -> Opened {
        let wanted = Set(
            GeneratedProbeModules.startupNeeds.filter { wants($0, command: command, serving: serving, local: local) }.flatMap {
                $0.resources.map(ObjectIdentifier.init)
            }
        )
        var seen: Set<ObjectIdentifier> = []
        var result = Opened(resources: [], opened: [])
        for type in GeneratedProbeModules.startupNeeds.flatMap(\.resources) where seen.insert(ObjectIdentifier(type)).inserted {
            if wanted.contains(ObjectIdentifier(type)) {
                let resource = type.open()
                result.resources.append(resource)
                result.opened.append(resource)
            } else {
                result.resources.append(type.unopened("not opened for this command: run the probe with its own command or sonde serve"))
            }
        }
        return result
    }

    /// Whether any start-up resource would be opened for `command` (so CAP_NET_RAW is raised first).
    static func needsStartupResources(command: String?, serving: Bool, local: Bool) -> Bool {
        GeneratedProbeModules.startupNeeds.contains { needs in
            !needs.resources.isEmpty && wants(needs, command: command, serving: serving, local: local)
        }
    }

    private static func wants(_ needs: StartupNeeds, command: String?, serving: Bool, local: Bool) -> Bool {
        serving || (local && command.map { needs.kinds.contains(ProbeKind(rawValue: $0)) } == true)
    }

    /// The registry over the opened resources. Call after the drop: resources may start threads.
    static func makeRegistry(_ opened: Opened) -> ProbeRegistry {
        var resources = ProbeResources()
        for resource in opened.resources { resource.install(into: &resources) }
        return ProbeRegistry(GeneratedProbeModules.probes(resources))
    }
}
