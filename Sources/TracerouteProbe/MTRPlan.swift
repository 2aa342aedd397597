import SondeCore

/// An mtr run's validated parameters, typed and read once.
struct MTRPlan: Sendable {
    var cycles: Int
    var interval: Duration
    var timeout: Duration
    var ttls: ClosedRange<Int>
    var source: IPAddress?

    init(_ values: ParameterValues) throws(ProbeError) {
        cycles = values.integer("cycles") ?? 10
        interval = values.duration("interval") ?? .seconds(1)
        timeout = values.duration("timeout") ?? .seconds(2)
        source = values.string("source").flatMap(IPAddress.init)
        ttls = try values.ttls()
    }
}
