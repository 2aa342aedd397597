import SondeCore
import SondeTLS

/// What `sonde http` prints, for a curl/httpstat reader: where it connected, the status line and a few headers
/// (the first request's), one timing line per answer, each redirect hop on its own line, then statistics.
final class HTTPTextRenderer: ProbeTextRenderer {
    private let options: TextRenderingOptions

    /// The response headers worth a line: what it is, how long, where it points, who served it.
    static let shownHeaders = ["content-type", "content-length", "location", "server", "cache-control", "retry-after"]

    init(options: TextRenderingOptions) {
        self.options = options
    }

    func lines(for event: HTTPEvent) -> [TextLine] {
        guard !options.quiet else { return [] }
        let prefix = options.multiTarget ? "\(options.padded(event.target)) : [\(event.seq)] " : (event.seq > 1 ? "seq=\(event.seq) " : "")
        switch event.type {
        case "connected" where event.seq == 1 && !options.multiTarget:
            guard let address = event.address.flatMap(IPAddress.init), let port = event.port else { return [] }
            return [TextLine("* Connected to \(address.endpoint(port: UInt16(port))) (\(event.url))")]
        case "response":
            var lines: [TextLine] = []
            let statusLine = "\(event.httpVersion ?? "HTTP") \(event.status ?? 0) \(event.reason ?? "")"
            if event.seq == 1 && !options.multiTarget {
                lines.append(TextLine("< \(statusLine)"))
                for header in event.headers ?? [] where Self.shownHeaders.contains(header.name.lowercased()) {
                    lines.append(TextLine("< \(header.name): \(header.value)"))
                }
                if let phases = event.phases { lines.append(TextLine(Self.timingLine(phases))) }
            } else {
                let total = event.phases.map { ", total \(DecimalFormat.rounded($0.totalMs, decimals: 1)) ms" } ?? ""
                let coded = event.contentCoding.map { coding in " (\(event.encodedBytes ?? 0) as \(coding))" } ?? ""
                lines.append(TextLine("\(prefix)\(statusLine), \(event.bodyBytes ?? 0) bytes\(coded)\(total)"))
            }
            for failure in event.failures ?? [] { lines.append(TextLine("  not as expected: \(failure)")) }
            return lines
        case "tls" where event.seq == 1 && !options.multiTarget:
            guard let tls = event.tls else { return [] }
            return tls.textLines
        case "redirect":
            return [TextLine("\(prefix)→ \(event.status ?? 0) to \(event.location ?? "?")")]
        case "failure":
            return [TextLine("\(prefix)\(event.url): \(event.message ?? event.outcome ?? "failed")")]
        default:
            return []
        }
    }

    /// `DNS 0.3 ms | connect 0.2 ms | server 12.0 ms | transfer 0.4 ms | total 17.0 ms` (and `TLS` for https).
    static func timingLine(_ phases: HTTPPhases) -> String {
        func ms(_ value: Double) -> String { "\(DecimalFormat.rounded(value, decimals: 1)) ms" }
        var parts = ["DNS \(ms(phases.resolveMs))"]
        if let connect = phases.connectMs { parts.append("connect \(ms(connect))") }
        if let tls = phases.tlsMs { parts.append("TLS \(ms(tls))") }
        if let processing = phases.processingMs { parts.append("server \(ms(processing))") }
        if let transfer = phases.transferMs { parts.append("transfer \(ms(transfer))") }
        parts.append("total \(ms(phases.totalMs))")
        return parts.joined(separator: " | ")
    }

    func lines(for report: ProbeReport<HTTPSummary>) -> [TextLine] {
        let summary = report.summary
        let failed = DecimalFormat.significant(summary.failedPercent)
        let statuses = summary.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        let failures = summary.failures.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        if options.multiTarget {
            var text = "\(options.padded(report.target)) : requests/succeeded/%failed = \(summary.requests)/\(summary.succeeded)/\(failed)%"
            if let total = summary.total { text += ", min/avg/max = \(total.slashSeparated(withDeviation: false))" }
            return [TextLine(text)]
        }
        var counts = "\(summary.requests) requests, \(summary.succeeded) succeeded, \(failed)% failed"
        if !statuses.isEmpty { counts += ", status \(statuses)" }
        if !failures.isEmpty { counts += ", \(failures)" }
        var lines = [TextLine(""), TextLine("--- \(report.target) http statistics ---"), TextLine(counts)]
        if let total = summary.total { lines.append(TextLine("total min/avg/max/mdev = \(total.slashSeparated()) ms")) }
        return lines
    }
}
