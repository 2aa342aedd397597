public import SondeCore
public import SondeTLS

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One thing that happened during a gRPC health probe.
///
/// JSON: a flat object whose `type` is
/// - `start`: the target resolved; `address`, `port`, `tls` (whether TLS is spoken), `service`.
/// - `check`: one `grpc.health.v1.Health/Check` call ended; `seq`, `outcome` (`serving`, `not_serving`,
///   `grpc_error`, `refused`, `timeout`, `unreachable`, `tls`, `bad_response`, `closed`, `error`),
///   `servingStatus` (`SERVING`, `NOT_SERVING`, `UNKNOWN`, `SERVICE_UNKNOWN`) when the server answered one,
///   `code` and `codeName` (the gRPC status), `message` (`grpc-message` or why the call failed; withheld from this
///   host's own addresses unless the sidecar allows local content), `httpStatus`, `timeMs` (connect to answer),
///   `connectMs`, `tlsMs`, and with TLS `tlsFacts` (version, chain, problems in words).
public struct GRPCEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var seq: Int?
    public var address: String?
    public var port: Int?
    public var service: String?
    public var tls: Bool?
    public var outcome: String?
    public var servingStatus: String?
    public var code: Int?
    public var codeName: String?
    public var message: String?
    public var httpStatus: Int?
    public var timeMs: Double?
    public var connectMs: Double?
    public var tlsMs: Double?
    public var tlsFacts: TLSFacts?

    init(_ type: String, target: String, seq: Int? = nil) {
        self.type = type
        self.time = Date()
        self.target = target
        self.seq = seq
    }
}

/// gRPC health statistics.
///
/// - `checks`; `serving` (answered `SERVING`), `notServing` (answered another status), `failed` (no health answer:
///   a gRPC error, nothing listening, timeout, TLS refused, not gRPC);
/// - `lastServingStatus`, `lastCode` (the gRPC status of the last check), `tls`: the last handshake's facts;
/// - `failedPercent` = 100 × (checks − serving) / checks; `check`: connect-to-answer times of the answered checks,
///   iputils formulas; `resolveMs`: resolving the target's name.
public struct GRPCSummary: ProbeSummary, Equatable {
    public var checks = 0
    public var serving = 0
    public var notServing = 0
    public var failed = 0
    public var lastServingStatus: String?
    public var lastCode: Int?
    public var lastCheckMs: Double?
    public var usedTLS = false
    public var tls: TLSFacts?
    public var failedPercent = 0.0
    public var timeMs = 0
    public var resolveMs = 0.0
    public var check: RTTSummary?
}

extension GRPCSummary: ProbeMetricsReporting {
    /// blackbox_exporter's grpc series (0.23 writes `probe_ssl_earliest_cert_expiry` even without TLS: so does
    /// Sonde), then Sonde's own for several checks.
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample(
                "probe_grpc_duration_seconds", resolveMs / 1000, help: "Duration of gRPC request by phase", labels: ["phase": "resolve"]),
            MetricSample("probe_grpc_ssl", usedTLS ? 1 : 0, help: "Indicates if SSL was used for the connection"),
            MetricSample("probe_grpc_status_code", Double(lastCode ?? GRPCStatus.unavailable), help: "Response gRPC status code"),
            MetricSample("probe_grpc_checks", Double(checks), help: "Health checks made"),
            MetricSample("probe_grpc_serving_checks", Double(serving), help: "Health checks answered SERVING"),
        ]
        if let lastCheckMs {
            samples.append(
                MetricSample(
                    "probe_grpc_duration_seconds", lastCheckMs / 1000, help: "Duration of gRPC request by phase", labels: ["phase": "check"]))
            for name in ServingStatus.names {
                samples.append(
                    MetricSample(
                        "probe_grpc_healthcheck_response", lastServingStatus == name ? 1 : 0, help: "Response HealthCheck response",
                        labels: ["serving_status": name]))
            }
        }
        if let tls {
            samples += tls.metricSamples
        } else {
            samples.append(MetricSample("probe_ssl_earliest_cert_expiry", 0, help: "Returns earliest SSL cert expiry in unixtime"))
        }
        return samples
    }
}
