import SondeCore

/// `sonde traceroute` as Linux traceroute prints it: a header, then one line per hop with each probe's answer,
/// `*` for a timeout, the marks of an unreachable and every address that answered at the hop.
struct TracerouteTextRenderer: ProbeTextRenderer {
    let options: TextRenderingOptions

    func lines(for event: TracerouteEvent) -> [TextLine] {
        switch event.type {
        case "start":
            return [TextLine("traceroute to \(event.target) (\(event.address ?? "?")), \(event.maxHops ?? 30) hops max, ICMP echo")]
        case "hop":
            guard let hop = event.hop else { return [] }
            return [TextLine(Self.line(for: hop))]
        case "rate_limited":
            guard let hop = event.hop else { return [] }
            return [TextLine(Self.rateLimitNote(ttl: hop.ttl, answered: hop.answered, sent: hop.probes.count))]
        default: return []
        }
    }

    /// What the loss at a rate-limiting hop means, for traceroute and mtr alike.
    static func rateLimitNote(ttl: Int, answered: Int, sent: Int) -> String {
        "hop \(ttl) answered \(answered) of \(sent) probes while every later hop answered all: it rate-limits its ICMP errors; "
            + "the path loses nothing there"
    }

    static func line(for hop: TracerouteHop) -> String {
        var line = (hop.ttl < 10 ? " " : "") + "\(hop.ttl) "
        var last: String?
        for probe in hop.probes {
            guard let from = probe.from else {
                line += probe.error.map { " \($0)" } ?? " *"
                continue
            }
            if from != last {
                line += " \(from)"
                last = from
            }
            if let rtt = probe.rttMs { line += "  \(DecimalFormat.rounded(rtt, decimals: 3)) ms" }
            if let marker = probe.marker { line += " \(marker)" }
        }
        return line
    }

    func lines(for report: ProbeReport<TracerouteSummary>) -> [TextLine] {
        let summary = report.summary
        if summary.reached { return [] }
        let last = summary.hops.last.map { "hop \($0.ttl)" } ?? "the first hop"
        return [TextLine("\(report.target) did not answer: the trace stops at \(last)")]
    }
}
