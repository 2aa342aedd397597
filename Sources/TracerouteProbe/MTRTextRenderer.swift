import SondeCore

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `sonde mtr` as mtr shows it: on a terminal the table redrawn in place after each round; piped, or with
/// `-r/--report`, the report once at the end (`Start:`, `HOST:` and one row per hop, in mtr's columns), then what
/// mtr leaves to its reader: which hop's loss is only its ICMP rate limit.
struct MTRTextRenderer: ProbeTextRenderer {
    let options: TextRenderingOptions

    /// Clears the terminal and homes the cursor before each redraw.
    static let redraw = "\u{1B}[H\u{1B}[2J"

    func lines(for event: MTREvent) -> [TextLine] {
        guard options.live, event.type == "cycle", let hops = event.hops else { return [] }
        let title = "sonde mtr to \(event.target) (\(event.address ?? "?")), round \(event.cycle ?? 0) of \(event.cycles ?? 0)"
        return [TextLine(Self.redraw + title)] + table(hops).map { TextLine($0) }
    }

    func lines(for report: ProbeReport<MTRSummary>) -> [TextLine] {
        let summary = report.summary
        var lines: [String] = []
        if !options.live {
            lines.append("Start: " + Self.timestamp(report.startedAt))
            lines += table(summary.hops)
        }
        for hop in summary.hops where hop.rateLimiting {
            lines.append(
                TracerouteTextRenderer.rateLimitNote(ttl: hop.ttl, answered: hop.received, sent: hop.sent))
        }
        if !summary.reached, summary.hops.contains(where: { $0.received > 0 }) {
            lines.append("\(report.target) did not answer: the path stops at hop \(summary.hops.last?.ttl ?? 0)")
        } else if !summary.reached {
            lines.append("\(report.target) did not answer, nor did any hop")
        }
        return lines.map { TextLine($0) }
    }

    /// The `HOST:` line and one row per hop, each extra address of a hop on a line of its own below it.
    func table(_ hops: [MTRHop]) -> [String] {
        let names = hops.map { hop in
            let host = (hop.addresses.first ?? "???") + hop.markers.map { " " + $0 }.joined()
            return Self.padded(String(hop.ttl), 3, left: true) + ".|-- " + host
        }
        // mtr's report gives the host column 33 characters and cuts longer names; Sonde never cuts an address.
        let width = options.wide ? max(names.map(\.count).max() ?? 0, 8) : max(33, names.map(\.count).max() ?? 0)
        var lines = [Self.padded("HOST: " + Self.hostname, width) + " Loss%   Snt   Last   Avg  Best  Wrst StDev"]
        for (hop, name) in zip(hops, names) {
            let loss = hop.lossPercent >= 100 ? "100.0" : DecimalFormat.rounded(hop.lossPercent, decimals: 1) + "%"
            var row = Self.padded(name, width) + Self.padded(loss, 6, left: true) + Self.padded(String(hop.sent), 6, left: true)
            for (value, columns) in [(hop.lastMs, 7), (hop.avgMs, 6), (hop.bestMs, 6), (hop.worstMs, 6), (hop.stdevMs, 6)] {
                row += Self.padded(Self.milliseconds(value ?? 0), columns, left: true)
            }
            lines.append(row)
            for address in hop.addresses.dropFirst() { lines.append("    |  `|-- " + address) }
        }
        return lines
    }

    /// One decimal, as mtr; from 1000 ms on, whole milliseconds with mtr's trailing point (`3054.`).
    static func milliseconds(_ value: Double) -> String {
        value < 999.95 ? DecimalFormat.rounded(value, decimals: 1) : String(Int(value.rounded())) + "."
    }

    static func padded(_ text: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return left ? fill + text : text + fill
    }

    /// mtr's `Start:` stamp: ISO 8601 in UTC with a numeric offset.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))+0000"
    }

    /// This host's name, as mtr's `HOST:` column shows it (never looked up in DNS).
    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
