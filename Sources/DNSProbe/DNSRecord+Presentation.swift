extension DNSRecordData {
    /// The record data as `dig` prints it.
    public var presentation: String {
        switch self {
        case .a(let bytes): return bytes.map(String.init).joined(separator: ".")
        case .aaaa(let bytes): return Self.ipv6(bytes)
        case .name(let name): return name
        case .mx(let preference, let exchange): return "\(preference) \(exchange)"
        case .txt(let strings): return strings.map { "\"" + Self.quoted($0) + "\"" }.joined(separator: " ")
        case .srv(let priority, let weight, let port, let target): return "\(priority) \(weight) \(port) \(target)"
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            return "\(mname) \(rname) \(serial) \(refresh) \(retry) \(expire) \(minimum)"
        case .caa(let flags, let tag, let value): return "\(flags) \(tag) \"\(Self.quoted(value))\""
        case .unknown(let bytes):
            return "\\# \(bytes.count)" + (bytes.isEmpty ? "" : " " + bytes.map { Self.hex($0) }.joined())
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }

    /// Character-string text: `"` and `\` escaped, non-printable bytes as `\DDD`.
    static func quoted(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
            case 0x20...0x7e: text.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let digits = String(byte)
                text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return text
    }

    /// RFC 5952 text: lowercase, longest run of zero groups as `::`.
    static func ipv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return bytes.map { hex($0) }.joined() }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var start = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if start < 0 { start = index }
            } else if start >= 0 {
                if index - start > bestLength, index - start > 1 {
                    bestStart = start
                    bestLength = index - start
                }
                start = -1
            }
        }
        let text = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return text.joined(separator: ":") }
        return text[..<bestStart].joined(separator: ":") + "::" + text[(bestStart + bestLength)...].joined(separator: ":")
    }
}

extension DNSSummary.Record {
    init(_ record: DNSRecord) {
        self.init(
            name: record.name, ttl: record.ttl, class: record.recordClass == 1 ? "IN" : "CLASS\(record.recordClass)",
            type: record.type.description, data: record.data.presentation
        )
    }

    init(_ question: DNSQuestion) {
        self.init(
            name: question.name, ttl: nil, class: question.recordClass == 1 ? "IN" : "CLASS\(question.recordClass)",
            type: question.type.description, data: nil
        )
    }
}
