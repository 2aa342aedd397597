import SondeCore
import SondeTLS

/// gRPC health output for grpc_health_probe and ping users: a header, one line per check (the serving status, or
/// the gRPC status and why), the TLS lines once, then statistics.
final class GRPCTextRenderer: ProbeTextRenderer {
    private let options: TextRenderingOptions
    private var endpoints: [String: String] = [:]
    private var shownTLS: Set<String> = []

    init(options: TextRenderingOptions) {
        self.options = options
    }

    func lines(for event: GRPCEvent) -> [TextLine] {
        if event.type == "start" {
            guard let address = event.address, let port = event.port, let ip = IPAddress(address) else { return [] }
            let endpoint = ip.endpoint(port: UInt16(port))
            endpoints[event.target] = endpoint
            guard !options.quiet, !options.multiTarget else { return [] }
            let service = (event.service ?? "").isEmpty ? "the whole server" : "service \"\(event.service ?? "")\""
            return [TextLine("GRPC health \(event.target) (\(endpoint), \(event.tls == true ? "TLS" : "plaintext HTTP/2")): \(service)")]
        }
        guard event.type == "check", !options.quiet else { return [] }
        let endpoint = endpoints[event.target] ?? event.target
        let seq = event.seq ?? 0
        let time = event.timeMs.map { " time=\(DecimalFormat.rounded($0, decimals: 3)) ms" } ?? ""
        let verdict: String
        var line: String
        if let status = event.servingStatus {
            verdict = status
            line = "\(status) from \(endpoint): seq=\(seq)\(time)"
        } else if event.outcome == "grpc_error" {
            verdict = "\(event.codeName ?? "?") (\(event.code ?? 0))"
            line = "\(verdict) from \(endpoint): seq=\(seq)\(time)" + (event.message.map { " \($0)" } ?? "")
        } else {
            // The TLS lines below give the reasons: not twice.
            let untrusted = event.outcome == "tls" && event.tlsFacts.map { !$0.problems.isEmpty && !$0.insecure } == true
            verdict = untrusted ? "the certificate is not trusted (-k to go on anyway)" : event.message ?? event.outcome ?? "?"
            line = "No health answer from \(endpoint): seq=\(seq) \(verdict) (\(event.codeName ?? "?"))"
        }
        if options.multiTarget { return [TextLine("\(options.padded(event.target)) : [\(seq)], \(verdict)\(time)")] }
        var lines = [TextLine(line)]
        if let tls = event.tlsFacts, shownTLS.insert(event.target).inserted {
            let handshake = event.tlsMs.map { " (handshake \(DecimalFormat.rounded($0, decimals: 1)) ms)" } ?? ""
            let tlsLines = tls.textLines
            lines += tlsLines.prefix(1).map { TextLine("  " + $0.text + handshake) } + tlsLines.dropFirst().map { TextLine("  " + $0.text) }
        }
        return lines
    }

    func lines(for report: ProbeReport<GRPCSummary>) -> [TextLine] {
        let summary = report.summary
        let failed = DecimalFormat.significant(summary.failedPercent)
        if options.multiTarget {
            var text = "\(options.padded(report.target)) : checks/serving/%failed = \(summary.checks)/\(summary.serving)/\(failed)%"
            if let check = summary.check { text += ", min/avg/max = \(check.slashSeparated(withDeviation: false))" }
            return [TextLine(text)]
        }
        var counts = "\(summary.checks) checks, \(summary.serving) serving"
        if summary.notServing > 0 { counts += ", \(summary.notServing) not serving" }
        if summary.failed > 0 { counts += ", \(summary.failed) failed" }
        counts += ", \(failed)% failed, time \(summary.timeMs)ms"
        var lines = [TextLine(""), TextLine("--- \(report.target) grpc health statistics ---"), TextLine(counts)]
        if let check = summary.check { lines.append(TextLine("check min/avg/max/mdev = \(check.slashSeparated()) ms")) }
        return lines
    }
}
