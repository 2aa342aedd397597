public import SondeCore

/// Where a Sonde agent's API is: `http://HOST[:PORT][/BASE]` — a sidecar (`http://10.1.2.3:8090`, whose API is under
/// `/v1`) or the same sidecar through a gateway (`http://gateway:8080/v1/agents/10.1.2.3`). Plain HTTP.
public struct AgentAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// Where the API's paths (`/probes/ping`) start: `/v1` on a sidecar, `/v1/agents/10.1.2.3` on a gateway.
    public var apiBase: String

    public init(host: String, port: UInt16, apiBase: String = AgentAddress.sidecarBase) {
        self.host = host
        self.port = port
        self.apiBase = apiBase
    }

    /// The sidecar's API base.
    public static let sidecarBase = "/v1"

    /// Parses `http://HOST[:PORT][/BASE]`; the port defaults to 8090 and the base to `/v1`, the sidecar's.
    public init(_ text: String) throws(ProbeError) {
        let invalid = ProbeError(
            .invalidParameter,
            "invalid --agent '\(text)': expected http://HOST:PORT (e.g. http://10.1.2.3:8090) or a gateway's http://HOST:PORT/v1/agents/POD-IP"
        )
        guard text.hasPrefix("http://") else {
            if text.hasPrefix("https://") {
                throw ProbeError(.invalidParameter, "--agent '\(text)': Sonde agents speak plain HTTP on the pod network; use http://")
            }
            throw invalid
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let allowed: Set<Character> = ["/", "-", ".", "_", ":", "%", "~"]
        guard !authority.isEmpty, prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || allowed.contains($0)) }) else {
            throw invalid
        }
        let parsed: HostPort
        do {
            let bracketedOrPlain = authority.hasPrefix("[") ? !authority.hasSuffix("]") : authority.contains(":")
            parsed = try HostPort(bracketedOrPlain ? String(authority) : String(authority) + ":8090")
        } catch {
            throw invalid
        }
        self.init(host: parsed.host, port: parsed.port, apiBase: prefix.isEmpty ? Self.sidecarBase : prefix)
    }

    /// `host:port` as an HTTP `Host` header writes it.
    public var authority: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// The URL as given: the base is shown when it is not the sidecar's.
    public var description: String { "http://\(authority)\(apiBase == Self.sidecarBase ? "" : apiBase)" }
}
