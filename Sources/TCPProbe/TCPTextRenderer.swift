import SondeCore
import SondeTLS

/// TCP connect output in the spirit of `nc -vz` and tcping: one line per attempt, then statistics.
final class TCPTextRenderer: ProbeTextRenderer {
    private let options: TextRenderingOptions
    private var names: [String: String] = [:]

    init(options: TextRenderingOptions) {
        self.options = options
    }

    func lines(for event: TCPEvent) -> [TextLine] {
        if event.type == "start" {
            guard let address = event.address, let port = event.port, let ip = IPAddress(address) else { return [] }
            names[event.target] = ip.endpoint(port: UInt16(port))
            return []
        }
        guard event.type == "attempt", !options.quiet else { return [] }
        let endpoint = names[event.target] ?? event.target
        let seq = event.seq ?? 0
        let time = event.timeMs.map { " time=\(DecimalFormat.rounded($0, decimals: 3)) ms" } ?? ""
        let reason = event.message.map { "\($0) (\(event.errno ?? "?"))" } ?? ""
        var lines: [TextLine] = []
        if options.multiTarget {
            lines.append(TextLine("\(options.padded(event.target)) : [\(seq)], \(event.outcome ?? "?")\(time)"))
        } else {
            switch TCPOutcome(rawValue: event.outcome ?? "") {
            case .open?: lines.append(TextLine("Connected to \(endpoint): seq=\(seq)\(time)"))
            case .refused?: lines.append(TextLine("Connection refused by \(endpoint): seq=\(seq)\(time)"))
            case .timeout?: lines.append(TextLine("No answer from \(endpoint): seq=\(seq) timed out (filtered?)"))
            case .unreachable?: lines.append(TextLine("Cannot reach \(endpoint): seq=\(seq) \(reason)"))
            case .error?, nil: lines.append(TextLine("Connection to \(endpoint) failed: seq=\(seq) \(reason)"))
            }
        }
        if let tls = event.tls, !options.multiTarget {
            let time = event.tlsMs.map { " (handshake \(DecimalFormat.rounded($0, decimals: 1)) ms)" } ?? ""
            let tlsLines = tls.textLines
            lines += tlsLines.prefix(1).map { TextLine("  " + $0.text + time) } + tlsLines.dropFirst().map { TextLine("  " + $0.text) }
        }
        if let banner = event.banner { lines.append(TextLine("  banner: \(banner.isEmpty ? "(none)" : banner)")) }
        for step in event.steps ?? [] {
            switch step.step {
            case "send": lines.append(TextLine("  > \(step.text ?? "")"))
            case "expect": lines.append(TextLine("  < \(step.received ?? "")  [/\(step.text ?? "")/ \(step.ok ? "matched" : "no match")]"))
            case "expect-bytes":
                lines.append(TextLine("  < \(step.received ?? "")  [\(step.ok ? "the bytes expected" : "not \"\(step.text ?? "")\"")]"))
            default: lines.append(TextLine("  starttls: \(step.ok ? "ok" : "refused")"))
            }
        }
        if let failure = event.failure {
            // The TLS problems are on the lines above: not again.
            let untrusted = event.tls.map { !$0.problems.isEmpty && !$0.insecure } == true
            lines.append(TextLine(untrusted ? "  failed: the certificate is not trusted (-k to go on anyway)" : "  failed: \(failure)"))
        }
        if let expect = event.expect {
            let verdict = expect.matched ? "matched" : "no match"
            lines.append(TextLine("  expect /\(expect.pattern)/: \(verdict), received \"\(expect.received)\""))
        }
        return lines
    }

    func lines(for report: ProbeReport<TCPSummary>) -> [TextLine] {
        let summary = report.summary
        let failed = DecimalFormat.significant(summary.failedPercent)
        if options.multiTarget {
            var text = "\(options.padded(report.target)) : attempts/connected/%failed = \(summary.attempts)/\(summary.connected)/\(failed)%"
            if let connect = summary.connect { text += ", min/avg/max = \(connect.slashSeparated(withDeviation: false))" }
            return [TextLine(text)]
        }
        var counts = "\(summary.attempts) attempts, \(summary.connected) connected"
        if summary.refused > 0 { counts += ", \(summary.refused) refused" }
        if summary.timedOut > 0 { counts += ", \(summary.timedOut) timed out" }
        if summary.unreachable > 0 { counts += ", \(summary.unreachable) unreachable" }
        if summary.errors > 0 { counts += ", \(summary.errors) errors" }
        if summary.expectFailures > 0 { counts += ", \(summary.expectFailures) not as expected" }
        counts += ", \(failed)% failed, time \(summary.timeMs)ms"
        var lines = [TextLine(""), TextLine("--- \(report.target) tcp connect statistics ---"), TextLine(counts)]
        if let connect = summary.connect {
            lines.append(TextLine("connect min/avg/max/mdev = \(connect.slashSeparated()) ms"))
        }
        return lines
    }
}
