import SondeCore

/// `sonde udp` as nc and nmap users read it: one line per attempt with who answered and how, then the statistics
/// and the port's state.
struct UDPTextRenderer: ProbeTextRenderer {
    let options: TextRenderingOptions

    func lines(for event: UDPEvent) -> [TextLine] {
        guard event.type == "attempt", let address = event.address.flatMap(IPAddress.init), let port = event.port else { return [] }
        let prefix = "UDP \(address.endpoint(port: UInt16(port))): seq=\(event.seq) "
        let time = event.timeMs.map { ", time=\(DecimalFormat.rounded($0, decimals: 3)) ms" } ?? ""
        switch event.outcome {
        case "answered":
            var line = prefix + "answered, \(event.bytes ?? 0) bytes\(time)"
            if let matched = event.matched { line += matched ? " [matched]" : " [no match]" }
            var lines = [TextLine(line)]
            if let reply = event.reply, !reply.isEmpty { lines.append(TextLine("  < \(reply)")) }
            return lines
        case "closed", "filtered", "unreachable":
            guard let icmp = event.icmp else { return [TextLine(prefix + "\(event.outcome ?? ""): \(event.message ?? "")\(time)")] }
            let who = icmp.from.map { " from \($0)" + (icmp.fromTarget ? " (the target)" : " (a router)") } ?? ""
            return [TextLine(prefix + "\(event.outcome ?? ""): \(icmp.meaning)\(who)\(time)")]
        case "no_answer":
            return [TextLine(prefix + "no answer (open|filtered)")]
        default:
            return [TextLine(prefix + "error: \(event.message ?? event.errno ?? "")")]
        }
    }

    func lines(for report: ProbeReport<UDPSummary>) -> [TextLine] {
        let summary = report.summary
        var counts = ["\(summary.attempts) attempts", "\(summary.answered) answered"]
        for (count, word) in [(summary.closed, "closed"), (summary.filtered, "filtered"), (summary.unreachable, "unreachable")] where count > 0 {
            counts.append("\(count) \(word)")
        }
        counts.append("\(summary.noAnswer) no answer")
        if summary.errors > 0 { counts.append("\(summary.errors) errors") }
        counts.append("\(DecimalFormat.shortest(summary.failedPercent))% failed")
        var lines = [TextLine(""), TextLine("--- \(report.target) udp statistics ---"), TextLine(counts.joined(separator: ", "))]
        if let state = summary.state {
            let note = summary.rateLimited ? " (\(summary.noAnswer) silent: the target rate-limits its port unreachables)" : ""
            lines.append(TextLine("state: \(state)\(note)"))
        }
        if let rtt = summary.rtt { lines.append(TextLine("rtt min/avg/max/mdev = \(rtt.slashSeparated()) ms")) }
        return lines
    }
}
