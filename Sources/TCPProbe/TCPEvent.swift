public import SondeCore
public import SondeTLS

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One thing that happened during a TCP connect probe.
///
/// JSON: a flat object whose `type` is
/// - `start`: the target resolved; `address`, `port`.
/// - `attempt`: one connection attempt ended; `seq`, `outcome` (`open`, `refused`, `timeout`, `unreachable`,
///   `error`), `timeMs` (to established, or to the refusal/error), `errno` and `message` when it failed,
///   `banner` when one was read, `expect` with `matched` and the `received` text when an exchange was asked for;
///   with `--tls` or a `starttls` step, `tls` (version, chain, problems in words) and `tlsMs` (the handshake);
///   `steps` (blackbox's query_response, each with `ok`); `failure` when the conversation stopped early.
public struct TCPEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var seq: Int?
    public var address: String?
    public var port: Int?
    public var outcome: String?
    public var timeMs: Double?
    public var errno: String?
    public var message: String?
    public var banner: String?
    public var expect: ExpectResult?
    public var tls: TLSFacts?
    public var tlsMs: Double?
    public var steps: [TCPStepResult]?
    public var failure: String?

    init(_ type: String, target: String, seq: Int? = nil) {
        self.type = type
        self.time = Date()
        self.target = target
        self.seq = seq
    }
}

/// The outcome of a send/expect exchange.
public struct ExpectResult: Codable, Sendable, Equatable {
    public var pattern: String
    public var matched: Bool
    /// What was read (at most 1 KiB shown).
    public var received: String
}

/// How one connection attempt ended.
public enum TCPOutcome: String, Sendable, Codable, CaseIterable {
    /// The handshake completed.
    case open
    /// The peer answered with a reset (nothing listens there).
    case refused
    /// No answer within the timeout: dropped on the way, or filtered.
    case timeout
    /// An ICMP error said the host or network cannot be reached.
    case unreachable
    /// Any other failure, with its errno.
    case error
}

/// TCP connect statistics.
///
/// - `attempts`; `connected`, `refused`, `timedOut`, `unreachable`, `errors` (each attempt counts once);
/// - `expectFailures`: connected attempts whose banner, exchange, steps or TLS did not satisfy the expectation;
/// - `failedDueToRegex`: an expected reply did not match; `failedDueToBytes`: an expect-bytes step read other bytes;
/// - `expectLabels`: the `label:` values of the last attempt's matched expects; `tls`: the last handshake's facts;
/// - `failedPercent` = 100 × (attempts − succeeded) / attempts, where succeeded = connected and satisfied;
/// - `connect`: time to established over connected attempts, iputils formulas.
public struct TCPSummary: ProbeSummary, Equatable {
    public var attempts = 0
    public var connected = 0
    public var refused = 0
    public var timedOut = 0
    public var unreachable = 0
    public var errors = 0
    public var expectFailures = 0
    public var failedDueToRegex = false
    /// An expect-bytes step read other bytes.
    public var failedDueToBytes = false
    /// The `label:` values of the last attempt's matched expects, one set per expect (`probe_expect_info`).
    public var expectLabels: [[String: String]]?
    public var tls: TLSFacts?
    public var failedPercent = 0.0
    public var timeMs = 0
    public var connect: RTTSummary?
}

extension TCPSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_failed_due_to_regex", failedDueToRegex ? 1 : 0, help: "Indicates if probe failed due to regex"),
            MetricSample("probe_failed_due_to_bytes", failedDueToBytes ? 1 : 0, help: "Indicates if probe failed due to bytes"),
            MetricSample("probe_tcp_attempts", Double(attempts), help: "Connection attempts made"),
            MetricSample("probe_tcp_connections", Double(connected), help: "Attempts that connected"),
            MetricSample(
                "probe_tcp_failure_ratio", attempts > 0 ? Double(attempts - connected) / Double(attempts) : 1,
                help: "Share of attempts that did not connect (0 to 1)"),
        ]
        if let connect { samples += connect.samples(prefix: "probe_tcp_connect", what: "time to connect") }
        samples += tls?.metricSamples ?? []
        for labels in expectLabels ?? [] {
            samples.append(MetricSample("probe_expect_info", 1, help: "Explicit content matched", labels: labels))
        }
        return samples
    }
}
