import SondeCore
import SondeRegex
import SondeTLS

/// An HTTP run's validated parameters, typed and read once before anything is sent.
struct HTTPPlan: Sendable {
    var target: HTTPTarget
    var method: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var followRedirects: Bool
    var maxRedirects: Int
    /// `--resolve HOST:PORT:ADDRESS` overrides: requests to HOST:PORT go to ADDRESS without a lookup.
    var overrides: [String: IPAddress]
    /// `--connect-to HOST1:PORT1:HOST2:PORT2`: requests for HOST1:PORT1 connect to HOST2:PORT2, URL, Host header and
    /// SNI unchanged; an empty field matches any host or port, or leaves it as it is.
    var connectTo: [ConnectTo]

    struct ConnectTo: Sendable, Equatable {
        var fromHost: String?
        var fromPort: UInt16?
        var toHost: String?
        var toPort: UInt16?
    }
    var family: FamilyPreference
    var connectTimeout: Duration
    /// How long one request may take, redirects included.
    var maxTime: Duration
    var count: Int
    var interval: Duration
    var expectStatus: StatusRanges
    /// `--expect-body`: each must match; `--fail-body`: any one that matches fails.
    var expectBodies: [SafeRegex]
    var failBodies: [SafeRegex]
    /// `--expect-header`: present and matching; `--expect-header-if-present`: matching if present; `--fail-header`:
    /// not matching if present.
    var expectHeaders: [(name: String, pattern: SafeRegex)]
    var expectHeadersIfPresent: [(name: String, pattern: SafeRegex)]
    var failHeaders: [(name: String, pattern: SafeRegex)]
    /// The versions an answer may come in (`HTTP/1.1`, `HTTP/2`); `nil`: any.
    var expectVersions: Set<String>?
    /// The final answer must not come over https (blackbox's `fail_if_ssl`).
    var failIfTLS: Bool
    /// The most body bytes read per response; a longer body fails the request.
    var maxBody: Int
    /// How https servers are judged, and who the client is.
    var tls: TLSOptions
    /// The final answer must come over https.
    var requireTLS: Bool
    /// Offer `h2` by ALPN over https (`--http2`, the default); `--http1.1` offers only HTTP/1.1.
    var offersHTTP2: Bool
    /// How the final answer's body is decoded before it is counted and checked.
    var decoding: BodyDecoding

    /// `--compression` (blackbox's `compression`): the body is in this coding, whatever the server says;
    /// `--compressed` (curl's): ask for gzip, deflate or br and decode what `Content-Encoding` names.
    enum BodyDecoding: Sendable, Equatable {
        case none
        case fixed(ContentCoding)
        case negotiated
    }

    /// The most body bytes kept to match `expectBody` and `failBody` against (the rest is counted, not kept).
    static let matchedBodyBytes = 65_536

    init(_ request: ProbeRequest) throws(ProbeError) {
        let values = request.parameters
        target = try HTTPTarget(request.target)
        let head = values.boolean("head") ?? false
        method = values.string("method") ?? (head ? "HEAD" : "GET")
        if head, method != "HEAD" {
            throw ProbeError.invalid(parameter: "method", value: method, allowed: "HEAD with --head (-I), or leave --head out")
        }
        headers = try Self.headerLines(values.string("header") ?? "", parameter: "header")
        if let agent = values.string("userAgent") { headers.append(("User-Agent", agent)) }
        body = values.string("data").map { Array($0.utf8) } ?? []
        if values.string("data") != nil, values.string("method") == nil, !head { method = "POST" }
        followRedirects = values.boolean("location") ?? false
        maxRedirects = values.integer("maxRedirs") ?? 10
        overrides = try Self.overrides(values.string("resolve"))
        connectTo = try Self.connectTo(values.string("connectTo"))
        family = FamilyPreference(values)
        connectTimeout = values.duration("connectTimeout") ?? .seconds(5)
        maxTime = values.duration("maxTime") ?? .seconds(10)
        count = values.integer("count") ?? 1
        interval = values.duration("interval") ?? .seconds(1)
        expectStatus = try StatusRanges(values.string("expectStatus") ?? "200-299")
        expectBodies = try Self.regexes(values.string("expectBody"), parameter: "expectBody")
        failBodies = try Self.regexes(values.string("failBody"), parameter: "failBody")
        expectHeaders = try Self.headerPatterns(values.string("expectHeader"), parameter: "expectHeader")
        expectHeadersIfPresent = try Self.headerPatterns(values.string("expectHeaderIfPresent"), parameter: "expectHeaderIfPresent")
        failHeaders = try Self.headerPatterns(values.string("failHeader"), parameter: "failHeader")
        failIfTLS = values.boolean("failIfTls") ?? false
        if let text = values.string("expectVersion") {
            var versions: Set<String> = []
            for item in text.split(separator: ",").map({ $0.trimmingSpaces.uppercased() }) {
                switch item {
                case "HTTP/1.0", "HTTP/1.1": versions.insert(item)
                case "HTTP/2", "HTTP/2.0": versions.insert("HTTP/2")
                default:
                    throw ProbeError.invalid(parameter: "expectVersion", value: item, allowed: "HTTP/1.0, HTTP/1.1 or HTTP/2, comma-separated")
                }
            }
            expectVersions = versions
        }
        maxBody = values.integer("maxBody") ?? 1 << 20
        tls = try TLSOptions(values)
        requireTLS = values.boolean("requireTls") ?? false
        offersHTTP2 = values.string("httpVersion") != "1.1"
        decoding = try Self.decoding(values, headers: headers)
        if decoding == .negotiated, !headers.contains(where: { $0.name.lowercased() == "accept-encoding" }) {
            headers.append(("Accept-Encoding", "gzip, deflate, br"))
        }
    }

    private static func decoding(_ values: ParameterValues, headers: [(name: String, value: String)]) throws(ProbeError) -> BodyDecoding {
        let compressed = values.boolean("compressed") ?? false
        guard let written = values.string("compression") else { return compressed ? .negotiated : .none }
        guard let coding = ContentCoding(rawValue: written) else {
            throw ProbeError.invalid(parameter: "compression", value: written, allowed: "gzip, deflate, br or identity")
        }
        if compressed {
            throw ProbeError.invalid(
                parameter: "compressed", value: "true", allowed: "either --compressed (the server's choice) or --compression \(written), not both")
        }
        // As blackbox: an Accept-Encoding that does not accept the coding asks for something else.
        if coding != .identity, let accepted = headers.last(where: { $0.name.lowercased() == "accept-encoding" })?.value,
            !Self.accepts(accepted, coding.rawValue)
        {
            throw ProbeError.invalid(
                parameter: "compression", value: written,
                allowed: "a coding the Accept-Encoding header '\(accepted)' asks for (with a quality above 0), or no Accept-Encoding header")
        }
        return coding == .identity ? .none : .fixed(coding)
    }

    /// Whether an `Accept-Encoding` value takes `coding` (named or `*`) with a quality above 0; the best-rated entry
    /// that names it decides, as blackbox's check.
    static func accepts(_ acceptEncoding: String, _ coding: String) -> Bool {
        var entries: [(coding: String, quality: Double)] = []
        for part in acceptEncoding.split(separator: ",") {
            let fields = part.split(separator: ";", maxSplits: 1)
            let name = (fields.first ?? "").trimmingSpaces.lowercased()
            var quality = 1.0
            if fields.count == 2 {
                let parameter = fields[1].trimmingSpaces
                quality = Double(parameter.hasPrefix("q=") ? parameter.dropFirst(2) : parameter[...]) ?? 0
            }
            entries.append((name, quality))
        }
        let ranked = entries.enumerated().sorted {
            $0.element.quality > $1.element.quality || $0.element.quality == $1.element.quality && $0.offset < $1.offset
        }
        guard let decisive = ranked.first(where: { $0.element.coding == coding || $0.element.coding == "*" }) else { return false }
        return decisive.element.quality > 0
    }

    /// `Name: value` lines (the `header` parameter: one per line, as `-H` given several times joins them).
    static func headerLines(_ text: String, parameter: String) throws(ProbeError) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":"), ParameterSpec.isHeaderName(line[..<colon]) else {
                throw ProbeError.invalid(parameter: parameter, value: String(line), allowed: "'Name: value', e.g. 'Accept: application/json'")
            }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingSpaces
            guard !["host", "content-length", "transfer-encoding", "connection"].contains(name.lowercased()) else {
                throw ProbeError.invalid(
                    parameter: parameter, value: String(line),
                    allowed: "any header but Host, Content-Length, Transfer-Encoding and Connection, which Sonde sets (the Host is the URL's)")
            }
            headers.append((name, value))
        }
        return headers
    }

    /// `Name: REGEX` lines (`--expect-header`, `--expect-header-if-present`, `--fail-header`, each repeatable).
    private static func headerPatterns(_ text: String?, parameter: String) throws(ProbeError) -> [(name: String, pattern: SafeRegex)] {
        var patterns: [(name: String, pattern: SafeRegex)] = []
        for line in (text ?? "").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), ParameterSpec.isHeaderName(line[..<colon]) else {
                throw ProbeError.invalid(parameter: parameter, value: String(line), allowed: "'Name: REGEX', e.g. 'Content-Type: ^text/'")
            }
            let pattern = line[line.index(after: colon)...].drop { $0 == " " }
            patterns.append((String(line[..<colon]), try compile(String(pattern), parameter: parameter)))
        }
        return patterns
    }

    /// Where `--resolve` sends HOST:PORT, if it names it.
    func override(host: String, port: UInt16) -> IPAddress? { overrides["\(host.lowercased()):\(port)"] }

    /// Where a request for `url` connects: the first `--connect-to` that matches it, else the URL's host and port.
    func connection(for url: HTTPTarget) -> (host: String, port: UInt16) {
        let host = url.host.lowercased()
        for entry in connectTo where (entry.fromHost ?? host) == host && (entry.fromPort ?? url.port) == url.port {
            return (entry.toHost ?? url.host, entry.toPort ?? url.port)
        }
        return (url.host, url.port)
    }

    /// `HOST1:PORT1:HOST2:PORT2[,…]`, curl's `--connect-to`: IPv6 addresses in brackets, an empty field for any
    /// (or the same) host or port.
    private static func connectTo(_ text: String?) throws(ProbeError) -> [ConnectTo] {
        guard let text else { return [] }
        var entries: [ConnectTo] = []
        for entry in text.split(separator: ",") {
            let refusal = ProbeError.invalid(
                parameter: "connectTo", value: String(entry),
                allowed: "HOST1:PORT1:HOST2:PORT2 (an empty field: any host or port), e.g. shop.test:443:10.0.0.7:8443 or ::backend:")
            var fields: [String] = []
            var current = ""
            var bracketed = false
            for character in entry {
                switch character {
                case "[" where current.isEmpty: bracketed = true
                case "]" where bracketed: bracketed = false
                case ":" where !bracketed:
                    fields.append(current)
                    current = ""
                default: current.append(character)
                }
            }
            fields.append(current)
            guard fields.count == 4, !bracketed else { throw refusal }
            func port(_ text: String) throws(ProbeError) -> UInt16? {
                if text.isEmpty { return nil }
                guard let value = UInt16(text), value > 0 else { throw refusal }
                return value
            }
            for host in [fields[0], fields[2]] where !host.isEmpty && IPAddress(host) == nil && !HostName.isValid(host) { throw refusal }
            entries.append(
                ConnectTo(
                    fromHost: fields[0].isEmpty ? nil : fields[0].lowercased(), fromPort: try port(fields[1]),
                    toHost: fields[2].isEmpty ? nil : fields[2], toPort: try port(fields[3])))
        }
        return entries
    }

    private static func regexes(_ lines: String?, parameter: String) throws(ProbeError) -> [SafeRegex] {
        var patterns: [SafeRegex] = []
        for line in (lines ?? "").split(separator: "\n") { patterns.append(try compile(String(line), parameter: parameter)) }
        return patterns
    }

    private static func compile(_ pattern: String, parameter: String) throws(ProbeError) -> SafeRegex {
        do {
            return try SafeRegex(pattern)
        } catch {
            throw ProbeError.invalid(parameter: parameter, value: pattern, allowed: "an RE2 regular expression (\(error.reason))")
        }
    }

    /// `HOST:PORT:ADDRESS[,HOST:PORT:ADDRESS…]`, curl's `--resolve`; an IPv6 address may be bracketed.
    private static func overrides(_ text: String?) throws(ProbeError) -> [String: IPAddress] {
        guard let text else { return [:] }
        var overrides: [String: IPAddress] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 2)
            let address = parts.count == 3 ? parts[2].trimmingCharacters(in: "[]") : ""
            guard parts.count == 3, let port = UInt16(parts[1]), port > 0, let ip = IPAddress(address) else {
                throw ProbeError.invalid(parameter: "resolve", value: String(entry), allowed: "HOST:PORT:ADDRESS, e.g. example.test:80:10.0.0.7")
            }
            overrides["\(parts[0].lowercased()):\(port)"] = ip
        }
        return overrides
    }
}

/// Status codes that count as success: `200-299`, `200,301-302`.
struct StatusRanges: Sendable, Equatable, CustomStringConvertible {
    var ranges: [ClosedRange<Int>]

    /// The default, `200-299`.
    static let anySuccess = StatusRanges(ranges: [200...299])

    private init(ranges: [ClosedRange<Int>]) { self.ranges = ranges }

    init(_ text: String) throws(ProbeError) {
        if text == "200-299" {
            self = .anySuccess
            return
        }
        ranges = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0.trimmingSpaces) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, (100...599).contains(low), (low...599).contains(high) else {
                throw ProbeError.invalid(
                    parameter: "expectStatus", value: text, allowed: "status codes and ranges from 100 to 599, comma-separated (e.g. 200-299,301)")
            }
            ranges.append(low...high)
        }
        guard !ranges.isEmpty else {
            throw ProbeError.invalid(parameter: "expectStatus", value: text, allowed: "status codes and ranges, comma-separated (e.g. 200-299)")
        }
    }

    func contains(_ status: Int) -> Bool { ranges.contains { $0.contains(status) } }

    var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
