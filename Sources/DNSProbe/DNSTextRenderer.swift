import SondeCore
import SondeTLS

/// DNS output shaped like `dig`: header, flags, sections, query time, server — plus the names the search list
/// tried, which is what people need to see in a pod with `ndots:5`.
final class DNSTextRenderer: ProbeTextRenderer {
    private let options: TextRenderingOptions

    init(options: TextRenderingOptions) {
        self.options = options
    }

    func lines(for event: DNSEvent) -> [TextLine] {
        guard !options.quiet else { return [] }
        let name = event.name ?? "?"
        let server = event.server ?? "?"
        let prefix = options.multiTarget ? "\(options.padded(event.target)) : " : ";; "
        switch event.type {
        case "timeout":
            return [
                TextLine("\(prefix)no answer from \(server) (\(event.transport ?? "")) for \(name) within the timeout, attempt \(event.attempt ?? 1)")
            ]
        case "truncated":
            return [TextLine("\(prefix)truncated answer from \(server) for \(name), retrying over TCP")]
        case "error":
            return [TextLine("\(prefix)\(server) for \(name): \(event.message ?? event.errno ?? "error")")]
        case "response" where options.multiTarget:
            return [
                TextLine(
                    "\(prefix)\(name) \(event.rcode ?? "?"), \(event.answers ?? 0) answers from \(server) in \(DecimalFormat.rounded(event.timeMs ?? 0, decimals: 3)) ms"
                )
            ]
        default:
            return []
        }
    }

    func lines(for report: ProbeReport<DNSSummary>) -> [TextLine] {
        let summary = report.summary
        if options.multiTarget {
            let answers = summary.answer.compactMap(\.data).joined(separator: " ")
            return [TextLine("\(options.padded(report.target)) : \(summary.rcode ?? "no answer") \(answers)")]
        }
        var lines: [TextLine] = []
        func add(_ text: String) { lines.append(TextLine(text)) }
        add("")
        add("; <<>> sonde dns <<>> \(report.target)")
        if summary.namesTried.count > 1 || summary.namesTried.first?.name != summary.question.first?.name {
            add(";; names tried: " + summary.namesTried.map { "\($0.name) (\($0.result))" }.joined(separator: ", "))
        }
        guard let rcode = summary.rcode else {
            add(";; connection timed out; no servers could be reached")
            return lines
        }
        add(";; Got answer:")
        add(";; ->>HEADER<<- opcode: \(summary.opcode == 0 ? "QUERY" : "OPCODE\(summary.opcode ?? 0)"), status: \(rcode), id: \(summary.id ?? 0)")
        add(
            ";; flags: \(summary.flags.joined(separator: " ")); QUERY: \(summary.question.count), ANSWER: \(summary.answerCount), AUTHORITY: \(summary.authorityCount), ADDITIONAL: \(summary.additionalCount + (summary.edns == nil ? 0 : 1))"
        )
        if let edns = summary.edns {
            add("")
            add(";; OPT PSEUDOSECTION:")
            add("; EDNS: version: \(edns.version), flags:\(edns.dnssecOK ? " do" : ""); udp: \(edns.udpPayloadSize)")
        }
        add("")
        add(";; QUESTION SECTION:")
        for question in summary.question { add(";\(question.name)\t\t\(question.class)\t\(question.type)") }
        let omitted = summary.omitted ?? .init()
        let sections = [
            ("ANSWER", summary.answer, omitted.answer), ("AUTHORITY", summary.authority, omitted.authority),
            ("ADDITIONAL", summary.additional, omitted.additional),
        ]
        for (title, records, left) in sections where !records.isEmpty {
            add("")
            add(";; \(title) SECTION:")
            for record in records {
                add("\(record.name)\t\t\(record.ttl ?? 0)\t\(record.class)\t\(record.type)\t\(record.data ?? "")")
            }
            if left > 0 { add(";; ... \(left) more records not shown (at most \(DNSSummary.maxListedRecords) per section)") }
        }
        add("")
        add(";; Query time: \(DecimalFormat.rounded(summary.queryTimeMs ?? 0, decimals: 3)) msec")
        add(";; SERVER: \(summary.server ?? "?") (\(summary.transport ?? "?"))")
        for line in summary.tls?.textLines ?? [] { add(";; " + line.text) }
        if let failure = summary.validationFailure { add(";; NOT AS EXPECTED: \(failure)") }
        add(";; MSG SIZE  rcvd: \(summary.messageSize ?? 0)")
        return lines
    }
}
