public import SondeCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One hop of a path-MTU trace: who answered a probe of the size then in force, and what it said.
public struct TracepathHop: Codable, Sendable, Equatable {
    public var ttl: Int
    /// Who answered; `nil`: no reply.
    public var from: String?
    public var rttMs: Double?
    /// The size, in bytes of IP packet, of the probe this hop answered.
    public var size: Int
    /// The hop said "fragmentation needed" (ICMPv6: packet too big): packets over this size go no further.
    public var pmtu: Int?
    /// The target answered.
    public var reached = false
    /// The mark of an unreachable that ended the path (`!H`, `!N`, `!X`, …).
    public var marker: String?

    init(ttl: Int, size: Int) {
        self.ttl = ttl
        self.size = size
    }
}

/// Large don't-fragment packets lost without a word between two hops, where small ones pass: a router that cannot
/// forward them and sends no "fragmentation needed" (or a filter that drops it).
public struct PMTUBlackHole: Codable, Sendable, Equatable {
    /// The last hop large packets reach, and the first they do not.
    public var afterHop: Int
    public var beforeHop: Int
    /// The largest size that passes, found by a bounded search; the trace goes on at this size.
    public var largestPassing: Int
    /// The size that vanished.
    public var lost: Int
}

/// Something that happened during a path-MTU trace.
///
/// JSON: `start` (`address`, `pmtu`: the link's MTU the trace starts from), one `hop` per answer or silence
/// (`hop`: `ttl`, `from`, `rttMs`, `size`, `pmtu` when the hop said "fragmentation needed", `reached`, `marker`),
/// `black_hole` when large packets vanish where small ones pass (`blackHole`), then the report.
public struct TracepathEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var address: String?
    public var pmtu: Int?
    public var hop: TracepathHop?
    public var blackHole: PMTUBlackHole?

    init(_ type: String, target: String) {
        self.type = type
        self.time = Date()
        self.target = target
    }
}

/// A path-MTU trace's result: the hops, the path MTU, the hops there and back, and any black hole.
public struct TracepathSummary: ProbeSummary, Equatable {
    public var hops: [TracepathHop]
    /// The link MTU the trace started from.
    public var linkMTU: Int
    /// The largest packet that reached the last hop answered.
    public var pmtu: Int
    public var reached: Bool
    /// Hops to the target, and back from it (read from its reply's TTL).
    public var hopCount: Int?
    public var back: Int?
    public var blackHole: PMTUBlackHole?
}

extension TracepathSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_tracepath_reached", reached ? 1 : 0, help: "Whether the target answered"),
            MetricSample("probe_tracepath_pmtu_bytes", Double(pmtu), help: "The path MTU: the largest packet that went the whole way"),
            MetricSample("probe_tracepath_link_mtu_bytes", Double(linkMTU), help: "The MTU of the link the trace left by"),
            MetricSample("probe_tracepath_hops", Double(hopCount ?? hops.last?.ttl ?? 0), help: "Hops to the target (or probed, if not reached)"),
            MetricSample("probe_tracepath_black_hole", blackHole == nil ? 0 : 1, help: "Whether large packets vanish without fragmentation needed"),
        ]
        if let blackHole {
            samples.append(
                MetricSample("probe_tracepath_black_hole_hop", Double(blackHole.beforeHop), help: "The first hop large packets do not reach"))
        }
        return samples
    }
}
