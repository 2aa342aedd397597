/// Why a name cannot go on the wire.
public enum DNSNameError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case emptyLabel(name: String)
    case labelTooLong(label: String, name: String)
    case nameTooLong(name: String)
    case badEscape(name: String)

    public var description: String {
        switch self {
        case .badEscape(let name): "invalid name '\(name)': a backslash must be followed by a character or three digits up to 255 (\\. \\065)"
        case .empty: "invalid name '': expected a domain name"
        case .emptyLabel(let name): "invalid name '\(name)': empty label (two dots in a row, or a leading dot)"
        case .labelTooLong(let label, let name):
            "invalid name '\(name)': label '\(label)' is \(label.utf8.count) bytes, at most 63 are allowed"
        case .nameTooLong(let name): "invalid name '\(name)': \(name.utf8.count) characters, at most 253 are allowed"
        }
    }
}

extension DNSMessage {
    /// The message in wire format (names uncompressed).
    public func encoded() throws(DNSNameError) -> [UInt8] {
        var writer = DNSWriter()
        writer.u16(id)
        writer.u16(flags.rawValue)
        writer.u16(UInt16(questions.count))
        writer.u16(UInt16(answers.count))
        writer.u16(UInt16(authorities.count))
        writer.u16(UInt16(additionals.count + (edns == nil ? 0 : 1)))
        for question in questions {
            try writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.recordClass)
        }
        for record in answers + authorities + additionals { try writer.record(record) }
        if let edns {
            writer.bytes.append(0)  // root
            writer.u16(DNSType.opt.rawValue)
            writer.u16(edns.udpPayloadSize)
            writer.bytes += [edns.extendedRcode, edns.version, edns.dnssecOK ? 0x80 : 0, 0]
            let options = edns.options.flatMap { option -> [UInt8] in
                var part = DNSWriter()
                part.u16(option.code)
                part.u16(UInt16(option.data.count))
                return part.bytes + option.data
            }
            writer.u16(UInt16(options.count))
            writer.bytes += options
        }
        return writer.bytes
    }

    /// The labels of `name` (a trailing dot is optional; `.` is the root), checked against RFC 1035's limits.
    /// Escapes are read as dig writes them: `\.` and `\\` for those characters, `\DDD` for any byte.
    public static func labels(of name: String) throws(DNSNameError) -> [[UInt8]] {
        guard !name.isEmpty else { throw .empty }
        if name == "." { return [] }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var text = Array(name.utf8)[...]
        var endsWithDot = false
        while let byte = text.popFirst() {
            endsWithDot = false
            switch byte {
            case UInt8(ascii: "."):
                guard !label.isEmpty else { throw .emptyLabel(name: name) }
                labels.append(label)
                label = []
                endsWithDot = true
            case UInt8(ascii: "\\"):
                guard let next = text.popFirst() else { throw .badEscape(name: name) }
                if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                    let digits = [next] + text.prefix(2)
                    guard digits.count == 3, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                        let value = UInt8(String(decoding: digits, as: UTF8.self))
                    else { throw .badEscape(name: name) }
                    text = text.dropFirst(2)
                    label.append(value)
                } else {
                    label.append(next)
                }
            default:
                label.append(byte)
            }
            guard label.count <= 63 else {
                throw .labelTooLong(label: String(decoding: label, as: UTF8.self), name: name)
            }
        }
        if !endsWithDot {
            guard !label.isEmpty else { throw .emptyLabel(name: name) }
            labels.append(label)
        }
        // On the wire: a length byte per label, the labels, and the root's zero byte.
        guard labels.reduce(1, { $0 + $1.count + 1 }) <= 255 else { throw .nameTooLong(name: name) }
        return labels
    }
}

struct DNSWriter {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xff)] }

    mutating func u32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    mutating func name(_ name: String) throws(DNSNameError) {
        for label in try DNSMessage.labels(of: name) {
            bytes.append(UInt8(label.count))
            bytes += label
        }
        bytes.append(0)
    }

    mutating func record(_ record: DNSRecord) throws(DNSNameError) {
        try name(record.name)
        u16(record.type.rawValue)
        u16(record.recordClass)
        u32(record.ttl)
        var data = DNSWriter()
        switch record.data {
        case .a(let address), .aaaa(let address): data.bytes = address
        case .name(let target): try data.name(target)
        case .mx(let preference, let exchange):
            data.u16(preference)
            try data.name(exchange)
        case .txt(let strings):
            for string in strings {
                data.bytes.append(UInt8(min(string.count, 255)))
                data.bytes += string.prefix(255)
            }
        case .srv(let priority, let weight, let port, let target):
            data.u16(priority)
            data.u16(weight)
            data.u16(port)
            try data.name(target)
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            try data.name(mname)
            try data.name(rname)
            for value in [serial, refresh, retry, expire, minimum] { data.u32(value) }
        case .caa(let flags, let tag, let value):
            data.bytes.append(flags)
            data.bytes.append(UInt8(min(tag.utf8.count, 255)))
            data.bytes += Array(tag.utf8.prefix(255)) + value
        case .unknown(let raw): data.bytes = raw
        }
        u16(UInt16(data.bytes.count))
        bytes += data.bytes
    }
}
