/// Why bytes are not a DNS message: what was wrong and where.
public struct DNSParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "malformed DNS message at byte \(offset): \(reason)" }
}

extension DNSMessage {
    /// Parses a message, checking every length, count and compression pointer. Never traps on any input.
    public init(decoding bytes: [UInt8]) throws(DNSParseError) {
        var reader = DNSReader(bytes: bytes)
        id = try reader.u16()
        flags = DNSFlags(try reader.u16())
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        questions = []
        for _ in 0..<counts[0] {
            let name = try reader.name()
            questions.append(DNSQuestion(name: name, type: DNSType(rawValue: try reader.u16()), recordClass: try reader.u16()))
        }
        answers = try reader.records(Int(counts[1]))
        authorities = try reader.records(Int(counts[2]))
        var additional = try reader.records(Int(counts[3]))
        edns = nil
        if let index = additional.firstIndex(where: { $0.type == .opt }) {
            let opt = additional.remove(at: index)
            var edns = EDNS(udpPayloadSize: opt.recordClass, dnssecOK: opt.ttl & 0x8000 != 0)
            edns.extendedRcode = UInt8(opt.ttl >> 24)
            edns.version = UInt8(opt.ttl >> 16 & 0xff)
            if case .unknown(let data) = opt.data {
                var options = DNSReader(bytes: data)
                while options.position < data.count {
                    let code = try options.u16()
                    let length = Int(try options.u16())
                    edns.options.append(EDNSOption(code: code, data: try options.take(length)))
                }
            }
            self.edns = edns
        }
        additionals = additional
    }
}

struct DNSReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ reason: String, at offset: Int? = nil) -> DNSParseError {
        DNSParseError(reason: reason, offset: offset ?? position)
    }

    mutating func u8() throws(DNSParseError) -> UInt8 {
        guard position < bytes.count else { throw fail("message ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws(DNSParseError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSParseError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws(DNSParseError) -> [UInt8] {
        guard count >= 0, count <= bytes.count - position else { throw fail("message ends early") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// A possibly compressed name, as text with a trailing dot (`.` for the root). Pointers must point
    /// backwards, so a message cannot loop; the whole name is at most 255 bytes on the wire.
    mutating func name() throws(DNSParseError) -> String {
        var labels: [String] = []
        var wireLength = 1
        var cursor = position
        var jumped = false
        var lowestStart = position
        while true {
            guard cursor < bytes.count else { throw fail("name runs past the end", at: cursor) }
            let length = Int(bytes[cursor])
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    if !jumped { position = cursor + 1 }
                    return labels.isEmpty ? "." : labels.joined(separator: ".") + "."
                }
                guard cursor + 1 + length <= bytes.count else { throw fail("label runs past the end", at: cursor) }
                wireLength += length + 1
                guard wireLength <= 255 else { throw fail("name longer than 255 bytes", at: cursor) }
                labels.append(Self.presentation(bytes[(cursor + 1)...(cursor + length)]))
                cursor += 1 + length
            case 0xc0:
                guard cursor + 1 < bytes.count else { throw fail("compression pointer runs past the end", at: cursor) }
                let target = (length & 0x3f) << 8 | Int(bytes[cursor + 1])
                guard target < lowestStart else { throw fail("compression pointer does not point backwards", at: cursor) }
                if !jumped { position = cursor + 2 }
                jumped = true
                lowestStart = target
                cursor = target
            default:
                throw fail("unsupported label type 0x\(String(length & 0xc0, radix: 16))", at: cursor)
            }
        }
    }

    mutating func records(_ count: Int) throws(DNSParseError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        for _ in 0..<count {
            let name = try name()
            let type = DNSType(rawValue: try u16())
            let recordClass = try u16()
            let ttl = try u32()
            let length = Int(try u16())
            let start = position
            guard length <= bytes.count - start else { throw fail("record data runs past the end") }
            let end = start + length
            let data = try recordData(type, end: end)
            guard position == end else { throw fail("record data of \(type) is \(length) bytes but its fields take \(position - start)", at: start) }
            records.append(DNSRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data))
        }
        return records
    }

    private mutating func recordData(_ type: DNSType, end: Int) throws(DNSParseError) -> DNSRecordData {
        let length = end - position
        switch type {
        case .a where length == 4: return .a(try take(4))
        case .aaaa where length == 16: return .aaaa(try take(16))
        case .a, .aaaa: throw fail("\(type) record data must be \(type == .a ? 4 : 16) bytes, not \(length)")
        case .cname, .ns, .ptr, .dname: return .name(try name())
        case .mx:
            let preference = try u16()
            return .mx(preference: preference, exchange: try name())
        case .txt:
            var strings: [[UInt8]] = []
            while position < end {
                let count = Int(try u8())
                guard count <= end - position else { throw fail("TXT string runs past its record") }
                strings.append(try take(count))
            }
            return .txt(strings)
        case .srv:
            let priority = try u16()
            let weight = try u16()
            let port = try u16()
            return .srv(priority: priority, weight: weight, port: port, target: try name())
        case .soa:
            let mname = try name()
            let rname = try name()
            return .soa(mname: mname, rname: rname, serial: try u32(), refresh: try u32(), retry: try u32(), expire: try u32(), minimum: try u32())
        case .caa:
            guard length >= 2 else { throw fail("CAA record data too short") }
            let flags = try u8()
            let tagLength = Int(try u8())
            guard tagLength <= end - position else { throw fail("CAA tag runs past its record") }
            let tag = String(decoding: try take(tagLength), as: UTF8.self)
            return .caa(flags: flags, tag: tag, value: try take(end - position))
        default:
            return .unknown(try take(length))
        }
    }

    /// A label as `dig` prints it: `.` and `\` escaped, non-printable bytes as `\DDD`.
    static func presentation(_ label: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in label {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "\\"):
                text += "\\" + String(UnicodeScalar(byte))
            case 0x21...0x7e:
                text.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let digits = String(byte)
                text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return text
    }
}
