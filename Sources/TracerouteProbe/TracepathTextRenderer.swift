import SondeCore

/// `sonde tracepath` as tracepath prints it: the link's MTU first (`1?: [LOCALHOST]  pmtu N`), a line per hop with
/// its time, `pmtu N` where a hop said "fragmentation needed", `reached`, `no reply`; then `Resume: pmtu N hops H
/// back B` — and, where tracepath shows only silence, the black hole named (once, as it is found).
struct TracepathTextRenderer: ProbeTextRenderer {
    let options: TextRenderingOptions

    func lines(for event: TracepathEvent) -> [TextLine] {
        switch event.type {
        case "start":
            return [TextLine(" 1?: " + MTRTextRenderer.padded("[LOCALHOST]", 33) + "pmtu \(event.pmtu ?? 0)")]
        case "hop":
            guard let hop = event.hop else { return [] }
            return [TextLine(Self.line(for: hop))]
        case "black_hole":
            guard let hole = event.blackHole else { return [] }
            return [TextLine("     " + Self.describe(hole))]
        default:
            return []
        }
    }

    static func describe(_ hole: PMTUBlackHole) -> String {
        "black hole between hop \(hole.afterHop) and \(hole.beforeHop): \(hole.lost)-byte packets vanish there with no "
            + "\"fragmentation needed\"; largest size that passes: \(hole.largestPassing)"
    }

    static func line(for hop: TracepathHop) -> String {
        let number = MTRTextRenderer.padded(String(hop.ttl), 2, left: true) + ":  "
        guard let from = hop.from else { return number + "no reply" }
        var line = number + MTRTextRenderer.padded(from, 52)
        if let rtt = hop.rttMs {
            let thousandths = Int((rtt * 1000).rounded())
            let fraction = String(thousandths % 1000)
            line +=
                MTRTextRenderer.padded(String(thousandths / 1000), 3, left: true) + "."
                + String(repeating: "0", count: 3 - fraction.count) + fraction + "ms "
        }
        if let pmtu = hop.pmtu { line += "pmtu \(pmtu)" }
        if hop.reached { line += "reached" }
        if let marker = hop.marker { line += marker }
        return line
    }

    func lines(for report: ProbeReport<TracepathSummary>) -> [TextLine] {
        let summary = report.summary
        var lines: [String] = []
        if !summary.reached, summary.hops.count >= (report.parameters.integer("maxHops") ?? 30), summary.hops.last?.marker == nil {
            lines.append("     Too many hops: pmtu \(summary.pmtu)")
        }
        var resume = "     Resume: pmtu \(summary.pmtu) "
        if let hops = summary.hopCount { resume += "hops \(hops) " }
        if let back = summary.back { resume += "back \(back) " }
        lines.append(resume)
        return lines.map { TextLine($0) }
    }
}
