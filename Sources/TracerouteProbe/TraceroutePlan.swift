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
        maxHops = values.integer("maxHops") ?? 30
        firstTTL = values.integer("firstTtl") ?? 1
        wait = values.duration("wait") ?? .seconds(5)
        pause = values.duration("pause") ?? .zero
        hopsAtOnce = max(1, (values.integer("inFlight") ?? 16) / queries)
        source = values.string("source").flatMap(IPAddress.init)
        guard firstTTL <= maxHops else {
            throw ProbeError.invalid(parameter: "firstTtl", value: String(firstTTL), allowed: "a TTL no higher than maxHops (\(maxHops))")
        }
    }
}
