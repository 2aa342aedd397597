/// The probes compiled into this binary, by kind. The CLI and the API are faces over one registry.
public struct ProbeRegistry: Sendable {
    private let byKind: [ProbeKind: any Probe]

    /// - Precondition: kinds are unique; registering two probes of one kind is a programming error.
    public init(_ probes: [any Probe]) {
        var byKind: [ProbeKind: any Probe] = [:]
        for probe in probes {
            precondition(byKind[probe.descriptor.kind] == nil, "probe kind \(probe.descriptor.kind) registered twice")
            byKind[probe.descriptor.kind] = probe
        }
        self.byKind = byKind
    }

    public var kinds: [ProbeKind] { byKind.keys.sorted() }

    /// Every probe, in kind order.
    public var probes: [any Probe] { kinds.compactMap { byKind[$0] } }

    public var descriptors: [ProbeDescriptor] { kinds.compactMap { byKind[$0]?.descriptor } }

    public subscript(kind: ProbeKind) -> (any Probe)? { byKind[kind] }
}
