public import SondeCore
public import SondeICMP

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One thing that happened during a ping, as it happened.
///
/// JSON: a flat object whose `type` is one of
/// - `start`: the target resolved; `address`, `dataBytes`, `socket` (`raw` or `datagram`).
/// - `reply`: an echo reply within the timeout; `seq`, `from`, `bytes`, `ttl`, `rttMs`, and the flags
///   `differentAddress`, `truncated`, `wrongData` when they apply.
/// - `duplicate`: a further copy of a reply (same fields as `reply`).
/// - `late`: a reply after its timeout; it stays counted as lost.
/// - `timeout`: no reply within the timeout.
/// - `corrupted`: a reply with a bad ICMP checksum (not counted as received).
/// - `icmp_error`: a router or host reported an error for `seq`: `from`, `icmpType`, `icmpCode`, `message`, `mtu`.
/// - `send_error`: the request could not be sent: `errno`, `message`.
public struct PingEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var seq: Int?
    public var address: String?
    public var dataBytes: Int?
    public var socket: String?
    public var from: String?
    public var bytes: Int?
    public var ttl: Int?
    public var rttMs: Double?
    public var differentAddress: Bool?
    public var truncated: Bool?
    public var wrongData: WrongData?
    public var icmpType: Int?
    public var icmpCode: Int?
    public var mtu: Int?
    public var errno: String?
    public var message: String?

    init(_ type: Kind, target: String, seq: Int? = nil, time: Date = Date()) {
        self.type = type.rawValue
        self.time = time
        self.target = target
        self.seq = seq
    }

    /// The `type` values a ping emits.
    public enum Kind: String, Sendable, CaseIterable {
        case start, reply, duplicate, late, timeout, corrupted
        case icmpError = "icmp_error"
        case sendError = "send_error"
    }

    public var kind: Kind? { Kind(rawValue: type) }

    /// Round-trip time in whole microseconds, as stored.
    var rttMicroseconds: Int? { rttMs.map { Int(($0 * 1000).rounded()) } }
}

/// Ping statistics, computed as iputils `ping` does.
///
/// - `transmitted`: requests that left the host; `received`: distinct replies within the timeout.
/// - `duplicates`, `corrupted`, `late`: replies not counted as received.
/// - `errors`: ICMP errors about requests plus requests that could not be sent.
/// - `lossPercent` = 100 × (transmitted − received) / transmitted (100 when nothing was sent).
/// - `timeMs`: from the start to the last transmission, like `ping`'s `time`.
/// - `rtt`: over received replies only (duplicates excluded), iputils formulas.
public struct PingSummary: ProbeSummary, Equatable {
    public var transmitted = 0
    public var received = 0
    public var duplicates = 0
    public var corrupted = 0
    public var errors = 0
    public var late = 0
    public var lossPercent = 0.0
    public var timeMs = 0
    public var rtt: RTTSummary?
    /// The TTL / hop limit of the last reply counted, when the kernel reported it.
    public var replyHopLimit: Int?
    /// Resolving the target, and opening the echo session on the shared engine (blackbox's `resolve` and
    /// `setup` phases).
    public var resolveMs: Double?
    public var setupMs: Double?
}

extension PingSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_icmp_packets_sent", Double(transmitted), help: "Echo requests sent"),
            MetricSample("probe_icmp_packets_received", Double(received), help: "Echo replies received within the timeout (duplicates excluded)"),
            MetricSample("probe_icmp_packets_duplicated", Double(duplicates), help: "Duplicate echo replies"),
            MetricSample(
                "probe_icmp_packet_loss_ratio", transmitted > 0 ? Double(transmitted - received) / Double(transmitted) : 1,
                help: "Share of echo requests without a reply (0 to 1)"),
        ]
        for (phase, milliseconds) in [("resolve", resolveMs), ("setup", setupMs), ("rtt", rtt?.avgMs)] {
            guard let milliseconds else { continue }
            samples.append(
                MetricSample(
                    "probe_icmp_duration_seconds", milliseconds / 1000, help: "Duration of the ICMP request by phase (rtt: mean round trip)",
                    labels: ["phase": phase]))
        }
        if let rtt {
            samples += rtt.samples(prefix: "probe_icmp_rtt", what: "round-trip time")
        }
        if let replyHopLimit {
            samples.append(MetricSample("probe_icmp_reply_hop_limit", Double(replyHopLimit), help: "Replied packet hop limit (TTL for IPv4)"))
        }
        return samples
    }
}
