import SondeCore

/// A TCP run's validated parameters, typed and read once: the target, how often, and what each attempt does.
struct TCPPlan: Sendable {
    var target: HostPort
    var family: FamilyPreference
    var attempt: TCPAttempt.Plan
    var count: Int
    var interval: Duration
    /// How long the whole run may take, if the caller set a deadline.
    var deadline: Duration?

    init(_ request: ProbeRequest) throws(ProbeError) {
        let values = request.parameters
        target = try HostPort(request.target)
        family = FamilyPreference(values)
        attempt = try TCPAttempt.Plan(values, host: target.host, source: values.string("source").flatMap(IPAddress.init))
        count = values.integer("count") ?? 1
        interval = values.duration("interval") ?? .seconds(1)
        deadline = values.duration("deadline")
    }

    /// Refuses a source address of the other family than the resolved target's.
    func checkSource(against address: IPAddress) throws(ProbeError) { try address.checkSource(attempt.source) }
}
