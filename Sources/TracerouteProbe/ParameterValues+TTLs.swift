import SondeCore

extension ParameterValues {
    /// The TTLs a path probe covers: `firstTtl` through `maxHops`, refused when they cross.
    func ttls() throws(ProbeError) -> ClosedRange<Int> {
        let first = integer("firstTtl") ?? 1
        let last = integer("maxHops") ?? 30
        guard first <= last else {
            throw ProbeError.invalid(parameter: "firstTtl", value: String(first), allowed: "a TTL no higher than maxHops (\(last))")
        }
        return first...last
    }
}
