public import SondeCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One hop of an mtr run so far: mtr's columns (Loss%, Snt, Last, Avg, Best, Wrst, StDev), every address that
/// answered there and the marks of any unreachable it sent.
public struct MTRHop: Codable, Sendable, Equatable {
    public var ttl: Int
    /// Every address that answered at this hop, in the order first seen (ECMP, or a change of path).
    public var addresses: [String] = []
    /// Probes whose answer or timeout is in: mtr's Snt.
    public var sent = 0
    public var received = 0
    public var lossPercent: Double { sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent) }
    public var lastMs: Double?
    public var avgMs: Double?
    public var bestMs: Double?
    public var worstMs: Double?
    public var stdevMs: Double?
    /// traceroute's marks of the unreachables sent from this hop (`!H`, `!N`, `!X`, …).
    public var markers: [String] = []
    /// Loss here while every later hop lost nothing: the router limits its ICMP errors, the path is fine.
    public var rateLimiting = false

    init(ttl: Int) { self.ttl = ttl }

    enum CodingKeys: String, CodingKey {
        case ttl, addresses, sent, received, lossPercent, lastMs, avgMs, bestMs, worstMs, stdevMs, markers, rateLimiting
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ttl = try container.decode(Int.self, forKey: .ttl)
        addresses = try container.decode([String].self, forKey: .addresses)
        sent = try container.decode(Int.self, forKey: .sent)
        received = try container.decode(Int.self, forKey: .received)
        lastMs = try container.decodeIfPresent(Double.self, forKey: .lastMs)
        avgMs = try container.decodeIfPresent(Double.self, forKey: .avgMs)
        bestMs = try container.decodeIfPresent(Double.self, forKey: .bestMs)
        worstMs = try container.decodeIfPresent(Double.self, forKey: .worstMs)
        stdevMs = try container.decodeIfPresent(Double.self, forKey: .stdevMs)
        markers = try container.decodeIfPresent([String].self, forKey: .markers) ?? []
        rateLimiting = try container.decodeIfPresent(Bool.self, forKey: .rateLimiting) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ttl, forKey: .ttl)
        try container.encode(addresses, forKey: .addresses)
        try container.encode(sent, forKey: .sent)
        try container.encode(received, forKey: .received)
        try container.encode(lossPercent, forKey: .lossPercent)
        try container.encodeIfPresent(lastMs, forKey: .lastMs)
        try container.encodeIfPresent(avgMs, forKey: .avgMs)
        try container.encodeIfPresent(bestMs, forKey: .bestMs)
        try container.encodeIfPresent(worstMs, forKey: .worstMs)
        try container.encodeIfPresent(stdevMs, forKey: .stdevMs)
        if !markers.isEmpty { try container.encode(markers, forKey: .markers) }
        try container.encode(rateLimiting, forKey: .rateLimiting)
    }

    /// The statistics of a hop from its probes' outcomes so far.
    init(ttl: Int, outcomes: [TracerouteHop.Probe]) {
        self.ttl = ttl
        var times: [Double] = []
        for outcome in outcomes {
            sent += 1
            if let from = outcome.from, !addresses.contains(from) { addresses.append(from) }
            if let marker = outcome.marker, !markers.contains(marker) { markers.append(marker) }
            guard outcome.from != nil else { continue }
            received += 1
            if let rtt = outcome.rttMs { times.append(rtt) }
        }
        guard !times.isEmpty else { return }
        let mean = times.reduce(0, +) / Double(times.count)
        lastMs = times.last
        avgMs = mean
        bestMs = times.min()
        worstMs = times.max()
        // mtr's StDev: the sample standard deviation (n − 1), 0 for a single time.
        stdevMs = times.count > 1 ? (times.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(times.count - 1)).squareRoot() : 0
    }
}

/// Something that happened during an mtr run.
///
/// JSON: `start` (`address`, `maxHops`, `cycles`), one `probe` per probe as its answer or timeout comes (`ttl`,
/// `cycle`, `outcome`: `from`, `rttMs`, `marker`, or nothing for a loss; an answer that ends the path once the lower
/// hops' answers of its round are in), and a `cycle` each time every hop has its answer for one more round (`cycle`,
/// `cycles`, `address`, `hops`: the table so far, as mtr redraws it).
public struct MTREvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var address: String?
    public var maxHops: Int?
    public var cycles: Int?
    public var ttl: Int?
    public var cycle: Int?
    public var outcome: TracerouteHop.Probe?
    public var hops: [MTRHop]?

    init(_ type: String, target: String) {
        self.type = type
        self.time = Date()
        self.target = target
    }
}

/// An mtr run's result: the table of hops, as `mtr --report` prints it.
public struct MTRSummary: ProbeSummary, Equatable {
    public var hops: [MTRHop]
    public var destination: String
    public var cycles: Int
    /// Whether the target answered, and at which hop.
    public var reached: Bool
    public var hopCount: Int?

    init(hops: [MTRHop], destination: String, cycles: Int, reachedAt: Int?) {
        self.hops = hops
        self.destination = destination
        self.cycles = cycles
        reached = reachedAt != nil
        hopCount = reachedAt
    }

    /// Loss at a hop while every later hop lost nothing is the router limiting its ICMP errors (Linux by default: a
    /// burst of 6, then one a second), not loss on the path: what an mtr reader learns to see, named.
    mutating func markRateLimiting() {
        for index in hops.indices {
            let hop = hops[index]
            let later = hops[(index + 1)...]
            guard hop.received > 0, hop.received < hop.sent, !later.isEmpty else { continue }
            hops[index].rateLimiting = later.allSatisfy { $0.sent > 0 && $0.received == $0.sent }
        }
    }
}

extension MTRSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_mtr_reached", reached ? 1 : 0, help: "Whether the target answered"),
            MetricSample("probe_mtr_hops", Double(hopCount ?? hops.last?.ttl ?? 0), help: "Hops to the target (or shown, if not reached)"),
        ]
        // At most 64 hops, so the hop's TTL as a label stays bounded.
        for hop in hops {
            let ttl = ["ttl": String(hop.ttl)]
            samples.append(MetricSample("probe_mtr_hop_sent", Double(hop.sent), help: "Probes sent to a hop", labels: ttl))
            samples.append(MetricSample("probe_mtr_hop_loss_ratio", hop.lossPercent / 100, help: "Share of a hop's probes unanswered", labels: ttl))
            samples.append(
                MetricSample(
                    "probe_mtr_hop_rate_limiting", hop.rateLimiting ? 1 : 0, help: "Whether a hop's loss is its ICMP rate limit", labels: ttl))
            for (name, value) in [("avg", hop.avgMs), ("best", hop.bestMs), ("worst", hop.worstMs), ("stdev", hop.stdevMs)] {
                guard let value else { continue }
                samples.append(
                    MetricSample(
                        "probe_mtr_hop_rtt_\(name)_seconds", value / 1000, help: "The \(name) round-trip time to a hop", labels: ttl))
            }
        }
        return samples
    }
}
