import SondeCore
import SondeRegex

/// A UDP run's validated parameters, typed and read once before anything is sent.
struct UDPPlan: Sendable {
    var target: HostPort
    var family: FamilyPreference
    var count: Int
    var interval: Duration
    var timeout: Duration
    var deadline: Duration?
    var source: IPAddress?
    var payload: [UInt8]
    var expect: SafeRegex?

    /// The largest payload sent: one that fits a 1,500-byte path unfragmented over IPv6 (1,500 − 40 − 8).
    static let maxPayload = 1452

    init(_ request: ProbeRequest) throws(ProbeError) {
        let values = request.parameters
        target = try HostPort(request.target)
        family = FamilyPreference(values)
        count = values.integer("count") ?? 1
        interval = values.duration("interval") ?? .seconds(1)
        timeout = values.duration("timeout") ?? .seconds(2)
        deadline = values.duration("deadline")
        source = values.string("source").flatMap(IPAddress.init)
        payload = values.string("send").map(EscapedText.bytes) ?? []
        if let pattern = values.string("expect") {
            do {
                expect = try SafeRegex(pattern)
            } catch {
                throw ProbeError.invalid(parameter: "expect", value: pattern, allowed: "an RE2 regular expression (\(error.reason))")
            }
        }
    }
}
