import SondeCore
import SondeICMP

/// Ping output as iputils `ping` prints it, or as fping prints it when several targets run at once.
final class PingTextRenderer: ProbeTextRenderer {
    private let options: TextRenderingOptions
    /// Resolved address per target, learned from `start` events, to print `name (address)`.
    private var addresses: [String: String] = [:]

    init(options: TextRenderingOptions) {
        self.options = options
    }

    func lines(for event: PingEvent) -> [TextLine] {
        guard let kind = event.kind else { return [] }
        if kind == .start, let address = event.address { addresses[event.target] = address }
        if options.multiTarget { return multiTargetLines(for: event, kind: kind) }
        switch kind {
        case .start:
            let address = event.address ?? event.target
            let size = event.dataBytes ?? 0
            if address.contains(":") {
                return [TextLine("PING \(event.target) (\(address)) \(size) data bytes")]
            }
            return [TextLine("PING \(event.target) (\(address)) \(size)(\(size + 28)) bytes of data.")]
        case _ where options.quiet:
            return kind == .sendError ? [sendErrorLine(event)] : []
        case .reply, .duplicate, .late, .corrupted:
            var text = "\(event.bytes ?? 0) bytes from \(who(event)): icmp_seq=\(event.seq ?? 0)"
            if let ttl = event.ttl { text += " ttl=\(ttl)" }
            if let rtt = event.rttMicroseconds { text += " time=\(Self.pingTime(microseconds: rtt)) ms" }
            if event.truncated == true { text += " (truncated)" }
            switch kind {
            case .duplicate: text += " (DUP!)"
            case .late: text += " (LATE!)"
            case .corrupted: text += " (BAD CHECKSUM!)"
            default: break
            }
            if event.differentAddress == true { text += " (DIFFERENT ADDRESS!)" }
            var lines = [TextLine(text)]
            if let wrong = event.wrongData {
                lines.append(TextLine("wrong data byte #\(wrong.offset) should be 0x\(Self.hex(wrong.expected)) but was 0x\(Self.hex(wrong.actual))"))
            }
            return lines
        case .timeout:
            return options.reportOutstanding ? [TextLine("no answer yet for icmp_seq=\(event.seq ?? 0)")] : []
        case .icmpError:
            return [TextLine("From \(event.from ?? "?") icmp_seq=\(event.seq ?? 0) \(event.message ?? "")")]
        case .sendError:
            return [sendErrorLine(event)]
        }
    }

    func lines(for report: ProbeReport<PingSummary>) -> [TextLine] {
        let summary = report.summary
        if options.multiTarget {
            let loss = Int(summary.lossPercent.rounded(.down))
            var text = "\(options.padded(report.target)) : xmt/rcv/%loss = \(summary.transmitted)/\(summary.received)/\(loss)%"
            if let rtt = summary.rtt { text += ", min/avg/max = \(rtt.slashSeparated(withDeviation: false))" }
            return [TextLine(text)]
        }
        var counts = "\(summary.transmitted) packets transmitted, \(summary.received) received"
        if summary.duplicates > 0 { counts += ", +\(summary.duplicates) duplicates" }
        if summary.corrupted > 0 { counts += ", +\(summary.corrupted) corrupted" }
        if summary.errors > 0 { counts += ", +\(summary.errors) errors" }
        if summary.late > 0 { counts += ", +\(summary.late) late" }
        counts += ", \(DecimalFormat.significant(summary.lossPercent))% packet loss, time \(summary.timeMs)ms"
        var lines = [TextLine(""), TextLine("--- \(report.target) ping statistics ---"), TextLine(counts)]
        if let rtt = summary.rtt {
            lines.append(TextLine("rtt min/avg/max/mdev = \(rtt.slashSeparated()) ms"))
        }
        return lines
    }

    // MARK: - fping style

    private func multiTargetLines(for event: PingEvent, kind: PingEvent.Kind) -> [TextLine] {
        let name = options.padded(event.target)
        let seq = event.seq ?? 0
        if options.quiet { return kind == .sendError ? [sendErrorLine(event)] : [] }
        switch kind {
        case .start:
            return []
        case .reply, .late, .corrupted:
            var text = "\(name) : [\(seq)], \(event.bytes ?? 0) bytes, \(Self.fpingTime(microseconds: event.rttMicroseconds ?? 0)) ms"
            if kind == .late { text += " (late)" }
            if kind == .corrupted { text += " (bad checksum)" }
            if event.differentAddress == true, let from = event.from { text += " [<- \(from)]" }
            return [TextLine(text)]
        case .duplicate:
            return [
                TextLine(
                    "\(name) : duplicate for [\(seq)], \(event.bytes ?? 0) bytes, \(Self.fpingTime(microseconds: event.rttMicroseconds ?? 0)) ms")
            ]
        case .timeout:
            return [TextLine("\(name) : [\(seq)], timed out")]
        case .icmpError:
            return [TextLine("\(name) : [\(seq)], \(event.message ?? "ICMP error") from \(event.from ?? "?")")]
        case .sendError:
            return [sendErrorLine(event)]
        }
    }

    // MARK: - Formatting

    private func sendErrorLine(_ event: PingEvent) -> TextLine {
        let message = event.message ?? "send failed"
        let text = message.hasPrefix("local error") ? message : "sendmsg: \(message)"
        let prefix = options.multiTarget ? "\(event.target): " : ""
        return TextLine("sonde: \(prefix)icmp_seq=\(event.seq ?? 0): \(text)", stream: .standardError)
    }

    private func who(_ event: PingEvent) -> String {
        let from = event.from ?? "?"
        if from != event.target, addresses[event.target] == from {
            return "\(event.target) (\(from))"
        }
        return from
    }

    /// iputils' `time=`: ≥ 99.95 ms whole ms, ≥ 9.995 one decimal, ≥ 1 two, else three (exact).
    static func pingTime(microseconds t: Int) -> String {
        if t >= 99_950 { return String((t + 500) / 1000) }
        if t >= 9_995 { return DecimalFormat.fixed((t + 50) / 100, scale: 1) }
        if t >= 1_000 { return DecimalFormat.fixed((t + 5) / 10, scale: 2) }
        return DecimalFormat.fixed(t, scale: 3)
    }

    /// fping's times: < 1 ms three decimals, < 10 two, < 100 one, else whole ms.
    static func fpingTime(microseconds t: Int) -> String {
        let ms = Double(t) / 1000
        if ms < 1 { return DecimalFormat.rounded(ms, decimals: 3) }
        if ms < 10 { return DecimalFormat.rounded(ms, decimals: 2) }
        if ms < 100 { return DecimalFormat.rounded(ms, decimals: 1) }
        return DecimalFormat.rounded(ms, decimals: 0)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
