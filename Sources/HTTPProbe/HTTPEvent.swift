public import SondeCore
public import SondeTLS

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One thing that happened during an HTTP probe. Each request (`seq`) may take several hops (`hop` 0, 1, … when
/// redirects are followed); every hop is its own connection.
///
/// JSON: a flat object whose `type` is
/// - `resolved`: the hop's host resolved; `host`, `addresses`, `timeMs` (0 for an address or a `--resolve` override).
/// - `connected`: the connection is up; `address`, `port`, `timeMs` (the handshake).
/// - `tls` (https): `tls` with the version, ALPN, the name sent, the presented and the verified chain and the
///   `problems` in words (empty when trusted for this host); `timeMs` (the TLS handshake).
/// - `response`: the hop's answer; `httpVersion`, `status`, `reason`, `headers` (withheld from this host's own
///   addresses unless the sidecar allows local content), `bodyBytes` (decoded, with `--compression` or
///   `--compressed`: then also `contentCoding` and `encodedBytes`, the length as sent), `phases`, and on the request's last hop
///   `success` with the `failures` that made it false.
/// - `redirect`: the hop was a redirect that is followed; `status`, `location` (the next URL).
/// - `failure`: the request ended without an answer; `outcome` (`refused`, `timeout`, `unreachable`, `closed`,
///   `bad_response`, `too_large`, `denied`, `unresolvable`, `error`), `message`, `phases` so far.
public struct HTTPEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var seq: Int
    public var hop: Int
    public var url: String
    public var host: String?
    public var addresses: [String]?
    public var address: String?
    public var port: Int?
    public var timeMs: Double?
    public var httpVersion: String?
    public var status: Int?
    public var reason: String?
    public var headers: [HTTPHeaderField]?
    public var bodyBytes: Int?
    public var contentCoding: String?
    public var encodedBytes: Int?
    public var phases: HTTPPhases?
    public var tls: TLSFacts?
    public var location: String?
    public var success: Bool?
    public var failures: [String]?
    public var outcome: String?
    public var message: String?

    init(_ type: String, target: String, seq: Int, hop: Int, url: String) {
        self.type = type
        self.time = Date()
        self.target = target
        self.seq = seq
        self.hop = hop
        self.url = url
    }
}

/// A response header as received.
public struct HTTPHeaderField: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
}

/// Where a hop's time went, in milliseconds, with blackbox_exporter's phase names: `resolve` (the lookup),
/// `connect` (the TCP handshake), `tls` (the TLS handshake; absent for http://), `processing` (request written →
/// first response byte), `transfer` (first byte → end of the body) and `total`.
public struct HTTPPhases: Codable, Sendable, Equatable {
    public var resolveMs: Double
    public var connectMs: Double?
    public var tlsMs: Double?
    public var processingMs: Double?
    public var transferMs: Double?
    public var totalMs: Double

    /// The phases of several hops added up, as blackbox reports a redirected request.
    func adding(_ other: HTTPPhases) -> HTTPPhases {
        func sum(_ a: Double?, _ b: Double?) -> Double? { a == nil && b == nil ? nil : Self.microseconds((a ?? 0) + (b ?? 0)) }
        return HTTPPhases(
            resolveMs: Self.microseconds(resolveMs + other.resolveMs), connectMs: sum(connectMs, other.connectMs), tlsMs: sum(tlsMs, other.tlsMs),
            processingMs: sum(processingMs, other.processingMs), transferMs: sum(transferMs, other.transferMs),
            totalMs: Self.microseconds(totalMs + other.totalMs))
    }

    /// Milliseconds to the microsecond, as measured (a sum of doubles would print 2.1990000000000003).
    static func microseconds(_ milliseconds: Double) -> Double {
        (milliseconds * 1000).rounded() / 1000
    }
}

/// HTTP statistics over the requests of a run.
///
/// - `requests`; `succeeded` (final status expected and every expectation met); `failedPercent`;
/// - `statuses`: final status codes by count (`"200": 3`); `failures` by outcome (`"timeout": 1`);
/// - `total`: min/avg/max/mdev of each request's total time (redirects included) over requests that got an answer;
/// - `last`: the last request's final status, HTTP version, hops taken, body length and phases summed over its hops.
public struct HTTPSummary: ProbeSummary, Equatable {
    public var requests = 0
    public var succeeded = 0
    public var failedPercent = 0.0
    public var statuses: [String: Int] = [:]
    public var failures: [String: Int] = [:]
    public var total: RTTSummary?
    public var last: LastRequest?

    public struct LastRequest: Codable, Sendable, Equatable {
        public var status: Int?
        public var httpVersion: String?
        public var redirects: Int
        public var bodyBytes: Int?
        /// The final answer's `Content-Length`; `nil` without one (chunked, or read to the close).
        public var contentLength: Int?
        public var phases: HTTPPhases?
        /// Whether an expected or refused body pattern, or an expected header, decided the failure.
        public var failedDueToRegex: Bool
        /// The final hop's TLS, when it was https.
        public var tls: TLSFacts?
    }
}

extension HTTPSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_http_status_code", Double(last?.status ?? 0), help: "Response HTTP status code"),
            MetricSample("probe_http_redirects", Double(last?.redirects ?? 0), help: "The number of redirects"),
            MetricSample("probe_http_ssl", last?.tls == nil ? 0 : 1, help: "Indicates if SSL was used for the final redirect"),
            MetricSample("probe_failed_due_to_regex", last?.failedDueToRegex == true ? 1 : 0, help: "Indicates if probe failed due to regex"),
        ]
        // As blackbox_exporter (Go's `Response.ContentLength`): the header's length, -1 when the answer has none
        // (chunked); 0 without an answer. The uncompressed length is the body's as decoded (`compression`).
        let length = last?.status == nil ? 0 : Double(last?.contentLength ?? -1)
        samples.append(MetricSample("probe_http_content_length", length, help: "Length of http content response"))
        samples.append(
            MetricSample("probe_http_uncompressed_body_length", Double(last?.bodyBytes ?? 0), help: "Length of uncompressed response body"))
        let version = last?.httpVersion.flatMap { Double($0.dropFirst("HTTP/".count)) } ?? 0
        samples.append(MetricSample("probe_http_version", version, help: "Returns the version of HTTP of the probe response"))
        samples += last?.tls?.metricSamples ?? []
        let phases = last?.phases
        let durations: [(String, Double?)] = [
            ("resolve", phases?.resolveMs), ("connect", phases?.connectMs), ("tls", phases?.tlsMs), ("processing", phases?.processingMs),
            ("transfer", phases?.transferMs),
        ]
        for (phase, milliseconds) in durations {
            samples.append(
                MetricSample(
                    "probe_http_duration_seconds", (milliseconds ?? 0) / 1000, help: "Duration of http request by phase, summed over all redirects",
                    labels: ["phase": phase]))
        }
        return samples
    }
}
