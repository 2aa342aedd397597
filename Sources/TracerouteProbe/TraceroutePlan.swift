import SondeCore

/// A traceroute's validated parameters, typed and read once.
struct TraceroutePlan: Sendable {
    var queries: Int
    var maxHops: Int
    var firstTTL: Int
    var wait: Duration
    var pause: Duration
    /// How many hops are probed at once: `-N` probes in flight, whole hops, at least one.
    var hopsAtOnce: Int
    var source: IPAddress?

    init(_ values: ParameterValues) throws(ProbeError) {
        queries = values.integer("queries") ?? 3
        let ttls = try values.ttls()
        maxHops = ttls.upperBound
        firstTTL = ttls.lowerBound
        wait = values.duration("wait") ?? .seconds(5)
        pause = values.duration("pause") ?? .zero
        hopsAtOnce = max(1, (values.integer("inFlight") ?? 16) / queries)
        source = values.string("source").flatMap(IPAddress.init)
    }
}
