public import SondeCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One attempt of a UDP probe.
///
/// JSON: `{"type": "attempt", "seq", "address", "port", "outcome", "timeMs", …}` where `outcome` is `answered`
/// (`bytes`, `reply` — withheld from this host's own addresses unless the sidecar allows local content — and with
/// `--expect`, `matched`), `closed`, `filtered` or `unreachable` (`icmp`: type, code, `from` and whether that is the
/// target, `meaning`), `no_answer` (open|filtered) or `error` (`errno`, `message`).
public struct UDPEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var seq: Int
    public var address: String?
    public var port: Int?
    public var outcome: String?
    /// Until the answer or the ICMP error.
    public var timeMs: Double?
    public var bytes: Int?
    public var reply: String?
    public var matched: Bool?
    public var icmp: UDPICMPError?
    public var errno: String?
    public var message: String?

    init(_ type: String, target: String, seq: Int) {
        self.type = type
        self.time = Date()
        self.target = target
        self.seq = seq
    }
}

/// UDP statistics over a run's attempts.
///
/// - `attempts`; `answered`, `closed`, `filtered`, `unreachable`, `noAnswer`, `errors` (each attempt counts once);
///   `expectFailures`: answers that did not match `--expect`; `succeeded`: answers that did;
/// - `state`: what the port is, judged over all attempts, as nmap names it: `open` (something answered), `closed`,
///   `filtered`, `unreachable`, `open|filtered` (only silence);
/// - `rateLimited`: closed, yet some attempts got no answer — the target (Linux by default: a burst of 6, then one a
///   second) rate-limits its port unreachables, so that silence is not an open port;
/// - `rtt`: min/avg/max/mdev over answered attempts.
public struct UDPSummary: ProbeSummary, Equatable {
    public var attempts = 0
    public var answered = 0
    public var closed = 0
    public var filtered = 0
    public var unreachable = 0
    public var noAnswer = 0
    public var errors = 0
    public var expectFailures = 0
    public var succeeded = 0
    public var failedPercent = 0.0
    public var state: String?
    public var rateLimited = false
    public var rtt: RTTSummary?

    mutating func count(_ outcome: UDPOutcome, matched: Bool) {
        attempts += 1
        switch outcome {
        case .answered:
            answered += 1
            if matched { succeeded += 1 }
        case .closed: closed += 1
        case .filtered: filtered += 1
        case .unreachable: unreachable += 1
        case .noAnswer: noAnswer += 1
        case .error, .cancelled: errors += 1
        }
    }

    mutating func finish() {
        failedPercent = attempts > 0 ? Double(attempts - succeeded) * 100 / Double(attempts) : 0
        // The strongest evidence wins: an answer proves open; a port unreachable proves closed, whatever silence
        // the rate limit made of the other attempts.
        state =
            answered > 0
            ? "open" : closed > 0 ? "closed" : filtered > 0 ? "filtered" : unreachable > 0 ? "unreachable" : noAnswer > 0 ? "open|filtered" : nil
        rateLimited = answered == 0 && closed > 0 && noAnswer > 0
    }
}

extension UDPSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_udp_attempts", Double(attempts), help: "Datagrams sent"),
            MetricSample("probe_udp_answered", Double(answered), help: "Attempts that got an answer"),
            MetricSample("probe_udp_closed", Double(closed), help: "Attempts answered by ICMP port unreachable"),
            MetricSample("probe_udp_filtered", Double(filtered), help: "Attempts answered by ICMP administratively prohibited"),
            MetricSample("probe_udp_no_answer", Double(noAnswer), help: "Attempts that got neither an answer nor an ICMP error"),
            MetricSample("probe_udp_rate_limited", rateLimited ? 1 : 0, help: "Whether silence followed port unreachables (ICMP rate limiting)"),
            MetricSample("probe_failed_due_to_regex", expectFailures > 0 ? 1 : 0, help: "Indicates if probe failed due to regex"),
        ]
        if let rtt { samples += rtt.samples(prefix: "probe_udp_rtt", what: "round-trip time of answered attempts") }
        return samples
    }
}
