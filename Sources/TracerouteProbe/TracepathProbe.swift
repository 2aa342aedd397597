public import SondeCore
public import SondeICMP

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// tracepath: the hops to the target and the path MTU, with don't-fragment ICMP echo requests sent the way the
/// kernel's path-MTU cache cannot spoil (`IP_PMTUDISC_PROBE`: the size is Sonde's, from the link's own MTU, never
/// the route's cached one), lowered at each "fragmentation needed" — and what tracepath cannot see: a **black
/// hole**, large packets lost without a word where small ones pass, found by a bounded search for the largest size
/// that passes.
public struct TracepathProbe: Probe {
    public static let kind: ProbeKind = "tracepath"

    /// A probe that silence at full size does not condemn: tried twice.
    static let triesPerSize = 2
    /// The search for the largest size that passes a black hole: at most this many probes.
    static let searchSteps = 11

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "tracepath: the hops and the path MTU, with PMTU black holes found and named (ICMP echo, don't fragment)",
        target: "a host name or IP address",
        parameters: [
            ParameterSpec("maxHops", .integer(1...64), default: .integer(30), summary: "The highest TTL probed", cli: .init(short: "m")),
            ParameterSpec(
                "length", .integer(68...65_535),
                summary: "Bytes of IP packet to start from (default: the MTU of the link out, as tracepath -l)", cli: .init(short: "l"),
                role: .payloadBytes),
            ParameterSpec(
                "wait", .seconds(0.01...60), default: .number(1), summary: "Seconds to wait for each probe's answer", cli: .init(short: "w"),
                role: .duration),
            FamilyPreference.parameter,
        ]
    )

    private let engine: ICMPEngine

    /// - Parameter engine: the process's shared ICMP engine (the one ping and traceroute use).
    public init(engine: ICMPEngine) {
        self.engine = engine
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<TracepathEvent, TracepathSummary> {
        TracepathTextRenderer(options: options)
    }

    /// What one probe heard.
    enum Heard: Equatable {
        case timeExceeded(from: String, rttMs: Double)
        case fragmentationNeeded(from: String, rttMs: Double, mtu: Int)
        /// The target itself: its echo reply (with the reply's TTL) or its port unreachable.
        case reached(from: String, rttMs: Double, replyTTL: Int?)
        case unreachable(from: String, rttMs: Double, marker: String)
        /// Too big to leave this host (the route's MTU is below the link's).
        case tooBigHere(mtu: Int?)
        case failed(code: Int32)
        case silence

        /// Who answered and when; `nil` for what no one on the path said.
        var answer: (from: String, rttMs: Double)? {
            switch self {
            case .timeExceeded(let from, let rtt), .fragmentationNeeded(let from, let rtt, _), .reached(let from, let rtt, _),
                .unreachable(let from, let rtt, _):
                (from, rtt)
            case .tooBigHere, .failed, .silence: nil
            }
        }

        var answered: Bool { answer != nil }
    }

    public func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (TracepathEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<TracepathSummary> {
        let parameters = request.parameters
        let maxHops = parameters.integer("maxHops") ?? 30
        let wait = parameters.duration("wait") ?? .seconds(1)
        let family = FamilyPreference(parameters)
        let (destination, lookup) = try await context.resolveAuthorized(request.target, family: family)
        let started = Date()
        let start = ContinuousClock.now
        let linkMTU = ICMPEngine.interfaceMTU(towards: destination) ?? 1500
        let headers = destination.family == .ipv4 ? 28 : 48
        // Every IPv4 host takes 576 bytes, every IPv6 link 1280: the small probe that tells a black hole from silence.
        let small = destination.family == .ipv4 ? 576 : 1280
        var size = max(headers + 8, min(parameters.integer("length") ?? linkMTU, linkMTU))
        var header = TracepathEvent("start", target: request.target)
        header.address = destination.description
        header.pmtu = size
        events(header)

        let probe = { (ttl: Int, size: Int) async throws(ProbeError) -> Heard in
            try await self.probe(destination, ttl: ttl, dataLength: size - headers, wait: wait, context: context)
        }
        var hops: [TracepathHop] = []
        var blackHole: PMTUBlackHole?
        var back: Int?
        var ttl = 1
        func tell(_ hop: TracepathHop) {
            hops.append(hop)
            var event = TracepathEvent("hop", target: request.target)
            event.hop = hop
            events(event)
        }
        trace: while ttl <= maxHops, !Task.isCancelled {
            if let deadline = context.deadline, deadline <= .now { break }
            var heard = try await probe(ttl, size)
            for _ in 1..<Self.triesPerSize where heard == .silence { heard = try await probe(ttl, size) }
            var hop = TracepathHop(ttl: ttl, size: size)
            hop.from = heard.answer?.from
            hop.rttMs = heard.answer?.rttMs
            switch heard {
            case .fragmentationNeeded(_, _, let mtu) where mtu < size && mtu >= headers + 8:
                hop.pmtu = mtu
                tell(hop)
                size = mtu
                continue trace
            case .fragmentationNeeded:
                // A "fragmentation needed" that does not lower the size: the path cannot be followed further.
                hop.marker = "!F"
                tell(hop)
                break trace
            case .tooBigHere(let mtu?) where mtu < size && mtu >= headers + 8:
                size = mtu
                continue trace
            case .tooBigHere:
                throw ProbeError(.invalidParameter, "cannot send a \(size)-byte packet towards \(destination): message too long; try a smaller -l")
            case .timeExceeded:
                tell(hop)
            case .reached(_, _, let replyTTL):
                hop.reached = true
                back = replyTTL.map(Self.hopsBack)
                tell(hop)
                break trace
            case .unreachable(_, _, let marker):
                hop.marker = marker
                tell(hop)
                break trace
            case .failed, .silence:
                // Silence at full size: if a small packet passes where the large one did not (and the large one
                // still does not), large packets vanish on the way in to this hop.
                if blackHole == nil, size > small, try await probe(ttl, small).answered, try await !(probe(ttl, size).answered) {
                    var passing = small
                    var failing = size
                    for _ in 0..<Self.searchSteps where failing - passing > 1 {
                        let middle = (passing + failing) / 2
                        if try await probe(ttl, middle).answered { passing = middle } else { failing = middle }
                    }
                    let found = PMTUBlackHole(afterHop: ttl - 1, beforeHop: ttl, largestPassing: passing, lost: size)
                    blackHole = found
                    var event = TracepathEvent("black_hole", target: request.target)
                    event.blackHole = found
                    events(event)
                    size = passing
                    continue trace
                }
                tell(hop)
            }
            ttl += 1
        }
        let reached = hops.last?.reached ?? false
        let summary = TracepathSummary(
            hops: hops, linkMTU: linkMTU, pmtu: size, reached: reached, hopCount: reached ? hops.last?.ttl : nil, back: back,
            blackHole: blackHole)
        return ProbeReport(
            probe: Self.kind, target: request.target, address: destination.description, success: reached, startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: parameters, summary: summary, lookupSeconds: lookup.inSeconds)
    }

    /// The hops back from the target, as tracepath reckons them from its reply's TTL: the first of 64, 128 and
    /// 255 that is not below it, less the TTL, plus one.
    static func hopsBack(_ replyTTL: Int) -> Int {
        let initial = replyTTL <= 64 ? 64 : replyTTL <= 128 ? 128 : 255
        return initial - replyTTL + 1
    }

    /// One don't-fragment echo request of `dataLength` bytes of data with this TTL, and what came of it.
    private func probe(
        _ destination: IPAddress, ttl: Int, dataLength: Int, wait: Duration, context: ProbeContext
    ) async throws(ProbeError) -> Heard {
        var options = EchoOptions()
        options.ttl = ttl
        options.dataLength = dataLength
        options.pmtu = .probe
        options.lateWindow = wait + .seconds(1)
        let schedule = EchoSchedule(count: 1, interval: .milliseconds(1), timeout: wait, deadline: context.deadline, pacer: context.pacer)
        let channel = ObservationChannel()
        let session = try engine.openSession(to: destination, options: options, schedule: schedule) { channel.deliver($0) }
        defer { session.close() }
        while let observation = await channel.next() {
            switch observation {
            case .reply(let reply) where !reply.duplicate:
                return .reached(from: reply.from.description, rttMs: Double(reply.rttMicroseconds) / 1000, replyTTL: reply.ttl)
            case .icmpError(_, let from, let family, let type, let code, let mtu, let rtt):
                return Self.heard(from: from.description, rttMs: Double(rtt) / 1000, family: family, type: type, code: code, mtu: Int(mtu))
            case .sendFailed(_, let code) where code == EMSGSIZE: return .tooBigHere(mtu: nil)
            case .localError(_, let code, let mtu) where code == EMSGSIZE: return .tooBigHere(mtu: mtu > 0 ? Int(mtu) : nil)
            case .sendFailed(_, let code), .localError(_, let code, _): return .failed(code: code)
            case .timedOut, .deadlineReached: return .silence
            default: continue
            }
        }
        return .silence
    }

    /// An ICMP or ICMPv6 error read as tracepath reads it.
    static func heard(from: String, rttMs: Double, family: AddressFamily, type: UInt8, code: UInt8, mtu: Int) -> Heard {
        switch (family, type, code) {
        case (.ipv4, 3, 4), (.ipv6, 2, _): return .fragmentationNeeded(from: from, rttMs: rttMs, mtu: mtu)
        case (.ipv4, 11, _), (.ipv6, 3, _): return .timeExceeded(from: from, rttMs: rttMs)
        default:
            switch TracerouteHop.marker(family: family, type: type, code: code) {
            case nil: return .timeExceeded(from: from, rttMs: rttMs)
            case ""?: return .reached(from: from, rttMs: rttMs, replyTTL: nil)
            case let marker?: return .unreachable(from: from, rttMs: rttMs, marker: marker)
            }
        }
    }
}
