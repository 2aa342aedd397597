import SondeCore

/// The Prometheus text format (0.0.4) for a probe's samples: one `# HELP` and `# TYPE … gauge` per name, as
/// blackbox_exporter writes every probe metric.
package enum MetricExposition {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package static func render(_ samples: [MetricSample]) -> String {
        var order: [String] = []
        var byName: [String: [MetricSample]] = [:]
        for sample in samples {
            if byName[sample.name] == nil { order.append(sample.name) }
            byName[sample.name, default: []].append(sample)
        }
        var text = ""
        text.reserveCapacity(samples.count * 96)
        for name in order {
            guard let group = byName[name], let first = group.first else { continue }
            for part in ["# HELP ", name, " ", first.help, "\n# TYPE ", name, " gauge\n"] { text.append(part) }
            for sample in group {
                text.append(name)
                if !sample.labels.isEmpty {
                    text.append("{")
                    for (index, label) in sample.labels.sorted(by: { $0.key < $1.key }).enumerated() {
                        if index > 0 { text.append(",") }
                        for part in [label.key, "=\"", escape(label.value), "\""] { text.append(part) }
                    }
                    text.append("}")
                }
                text.append(" ")
                text.append(format(sample.value))
                text.append("\n")
            }
        }
        return text
    }

    package static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    private static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 10 }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// FNV-1a (32 bit) of the address bytes, as blackbox_exporter's `probe_ip_addr_hash`.
    package static func addressHash(_ address: IPAddress) -> Double {
        let bytes: [UInt8] =
            switch address.unmapped {
            case .v4(let v4): v4.bytes
            case .v6(let v6): v6.bytes
            }
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Double(hash)
    }
}
