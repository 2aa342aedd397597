import HTTPTypes
import SondeCore
import SondeHTTP

/// `GET /ping/{dstIP}/{count}`: the route platforms already call on troubleshooting containers. Same
/// path, same count range, ping's own text — now streamed as replies arrive instead of after a sleep.
enum LegacyPing {
    /// The probe the route runs.
    static let kind: ProbeKind = "ping"
    static let counts = 1...10

    static func input(destination: String, count text: String) throws(APIError) -> ProbeInput {
        guard let count = Int(text), counts.contains(count) else {
            throw APIError(
                .badRequest, code: "invalid_parameter",
                "invalid value '\(text)' for count: expected an integer from \(counts.lowerBound) to \(counts.upperBound)",
                field: "count"
            )
        }
        return ProbeInput(target: try ProbeInput.checkedTarget(destination, field: "dstIP"), given: ["count": .integer(count)])
    }
}
