public import SondeCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One hop of a trace: the TTL, and each probe's answer — who sent it and how long it took — or a timeout.
public struct TracerouteHop: Codable, Sendable, Equatable {
    public struct Probe: Codable, Sendable, Equatable {
        /// Who answered: the router whose TTL expired, or the target.
        public var from: String?
        public var rttMs: Double?
        /// traceroute's marks for an unreachable: `!H` host, `!N` network, `!P` protocol, `!X` prohibited, `!F`
        /// fragmentation needed, `!<code>` any other.
        public var marker: String?
        /// Why the probe could not be sent.
        public var error: String?

        init(from: String? = nil, rttMs: Double? = nil, marker: String? = nil, error: String? = nil) {
            self.from = from
            self.rttMs = rttMs
            self.marker = marker
            self.error = error
        }
    }

    public var ttl: Int
    public var probes: [Probe] = []
    /// The target answered at this hop.
    public var reached = false
    /// An unreachable ended the path here.
    public var stops = false
    /// Some probes went unanswered while every later hop answered all of its probes: the router limits its ICMP
    /// errors (Linux by default: a burst of 6, then one a second), the path itself loses nothing.
    public var rateLimiting = false

    init(ttl: Int) { self.ttl = ttl }

    /// The addresses that answered, in the order first seen (ECMP or a change of path shows several).
    public var addresses: [String] {
        var seen: [String] = []
        for probe in probes { if let from = probe.from, !seen.contains(from) { seen.append(from) } }
        return seen
    }

    var answered: Int { probes.filter { $0.from != nil }.count }

    /// `nil` for time exceeded (a hop on the way), `""` for port unreachable (the target itself), traceroute's mark
    /// for any other destination-unreachable.
    static func marker(family: AddressFamily, type: UInt8, code: UInt8) -> String? {
        switch family {
        case .ipv4:
            guard type == 3 else { return nil }
            switch code {
            case 0: return "!N"
            case 1: return "!H"
            case 2: return "!P"
            case 3: return ""
            case 4: return "!F"
            case 9, 10, 13: return "!X"
            default: return "!\(code)"
            }
        case .ipv6:
            guard type == 1 else { return nil }
            switch code {
            case 0: return "!N"
            case 1, 5, 6: return "!X"
            case 3: return "!H"
            case 4: return ""
            default: return "!\(code)"
            }
        }
    }
}

/// Something that happened during a trace.
///
/// JSON: `start` (`address`, `maxHops`, `method`), then one `hop` per TTL as its probes end (`hop`: `ttl`,
/// `probes` with `from`, `rttMs`, `marker` or nothing for a timeout, `reached`, `stops`), then `rate_limited` for each
/// hop found rate-limiting once the trace is done.
public struct TracerouteEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var address: String?
    public var maxHops: Int?
    public var method: String?
    public var hop: TracerouteHop?

    init(_ type: String, target: String) {
        self.type = type
        self.time = Date()
        self.target = target
    }
}

/// A trace's result: every hop probed, whether the target answered, and at which hop.
public struct TracerouteSummary: ProbeSummary, Equatable {
    public var hops: [TracerouteHop]
    public var destination: String
    public var reached: Bool
    /// The TTL at which the target answered.
    public var hopCount: Int?

    init(hops: [TracerouteHop], destination: String) {
        self.hops = hops
        self.destination = destination
        reached = hops.contains { $0.reached }
        hopCount = hops.first { $0.reached }?.ttl
    }

    /// A hop that answered some but not all of its probes, followed only by hops that answered all of theirs, is
    /// rate-limiting: loss there would show at every later hop too.
    mutating func markRateLimiting() {
        for index in hops.indices {
            let hop = hops[index]
            let later = hops[(index + 1)...]
            guard hop.answered > 0, hop.answered < hop.probes.count, !later.isEmpty else { continue }
            hops[index].rateLimiting = later.allSatisfy { $0.answered == $0.probes.count }
        }
    }
}

extension TracerouteSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_traceroute_reached", reached ? 1 : 0, help: "Whether the target answered"),
            MetricSample("probe_traceroute_hops", Double(hopCount ?? hops.last?.ttl ?? 0), help: "Hops to the target (or probed, if not reached)"),
        ]
        // At most 64 hops, so the hop's TTL as a label stays bounded.
        for hop in hops {
            let answered = hop.probes.compactMap(\.rttMs)
            samples.append(
                MetricSample(
                    "probe_traceroute_hop_answered_ratio", hop.probes.isEmpty ? 0 : Double(hop.answered) / Double(hop.probes.count),
                    help: "Share of a hop's probes answered", labels: ["ttl": String(hop.ttl)]))
            if let best = answered.min() {
                samples.append(
                    MetricSample(
                        "probe_traceroute_hop_rtt_seconds", best / 1000, help: "The best round-trip time to a hop", labels: ["ttl": String(hop.ttl)]))
            }
        }
        return samples
    }
}
