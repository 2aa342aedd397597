import SondeCore
import SondeTLS

/// A gRPC run's validated parameters, typed and read once.
struct GRPCPlan: Sendable {
    var host: String
    var port: UInt16
    /// `:authority`: host (IPv6 in brackets) and port.
    var authority: String
    var useTLS: Bool
    var tls: TLSOptions
    var service: String
    var metadata: [(name: String, value: String)]
    var family: FamilyPreference
    var count: Int
    var interval: Duration
    var connectTimeout: Duration
    var maxTime: Duration
    var deadline: Duration?

    init(_ request: ProbeRequest) throws(ProbeError) {
        let values = request.parameters
        var text = request.target
        var scheme: String?
        for prefix in ["http://", "https://"] where text.lowercased().hasPrefix(prefix) {
            scheme = String(prefix.dropLast(3))
            text = String(text.dropFirst(prefix.count))
        }
        if text.hasSuffix("/") { text.removeLast() }
        guard !text.isEmpty, !text.contains("/") else {
            throw ProbeError(
                .invalidTarget,
                "invalid target '\(request.target)': expected HOST:PORT, [IPv6]:PORT or HOST (the health check's path is fixed: \(GRPCCall.path))")
        }
        useTLS = values.boolean("tls") ?? false || scheme == "https"
        if text.hasPrefix("[") ? text.hasSuffix("]") : !text.contains(":") {
            host = text.hasPrefix("[") ? String(text.dropFirst().dropLast()) : text
            port = useTLS ? 443 : 80
        } else {
            let parsed = try HostPort(text)
            host = parsed.host
            port = parsed.port
        }
        authority = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        tls = try TLSOptions(values)
        service = values.string("service") ?? ""
        metadata = try Self.metadata(values.string("header"))
        family = FamilyPreference(values)
        count = values.integer("count") ?? 1
        interval = values.duration("interval") ?? .seconds(1)
        connectTimeout = values.duration("connectTimeout") ?? .seconds(5)
        maxTime = values.duration("maxTime") ?? .seconds(10)
        deadline = values.duration("deadline")
    }

    /// The pseudo-headers and the headers gRPC itself sets are Sonde's, never the caller's.
    static let reserved: Set<String> = ["host", "content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding"]

    private static func metadata(_ text: String?) throws(ProbeError) -> [(name: String, value: String)] {
        var items: [(name: String, value: String)] = []
        for line in (text ?? "").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else {
                throw ProbeError.invalid(parameter: "header", value: String(line), allowed: "metadata as 'Name: value'")
            }
            let name = line[..<colon].lowercased()
            guard !reserved.contains(name), !name.hasPrefix(":") else {
                throw ProbeError.invalid(
                    parameter: "header", value: String(line),
                    allowed: "metadata other than \(reserved.sorted().joined(separator: ", ")), which the probe sets itself")
            }
            items.append((name, line[line.index(after: colon)...].trimmingSpaces))
        }
        return items
    }
}
