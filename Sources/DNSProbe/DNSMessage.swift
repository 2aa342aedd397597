/// A DNS message (RFC 1035, with EDNS0 from RFC 6891), as sent and as parsed.
///
/// The codec uses only the standard library, so the fuzz harness (`Fuzz/`) compiles it on its own.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    public var flags: DNSFlags
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    /// Additional records, without the EDNS0 OPT pseudo-record (see ``edns``).
    public var additionals: [DNSRecord]
    public var edns: EDNS?

    public init(
        id: UInt16, flags: DNSFlags, questions: [DNSQuestion], answers: [DNSRecord] = [],
        authorities: [DNSRecord] = [], additionals: [DNSRecord] = [], edns: EDNS? = nil
    ) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.edns = edns
    }

    /// The response code, including the upper bits EDNS0 carries.
    public var rcode: DNSResponseCode {
        DNSResponseCode(rawValue: UInt16(edns?.extendedRcode ?? 0) << 4 | UInt16(flags.rcode))
    }
}

/// The header flags: `qr aa tc rd ra ad cd`, opcode and the low four bits of the response code.
public struct DNSFlags: Sendable, Equatable {
    public var response = false
    public var opcode: UInt8 = 0
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = true
    public var recursionAvailable = false
    public var authenticData = false
    public var checkingDisabled = false
    public var rcode: UInt8 = 0

    public init() {}

    init(_ raw: UInt16) {
        response = raw & 0x8000 != 0
        opcode = UInt8(raw >> 11 & 0xf)
        authoritative = raw & 0x0400 != 0
        truncated = raw & 0x0200 != 0
        recursionDesired = raw & 0x0100 != 0
        recursionAvailable = raw & 0x0080 != 0
        authenticData = raw & 0x0020 != 0
        checkingDisabled = raw & 0x0010 != 0
        rcode = UInt8(raw & 0xf)
    }

    var rawValue: UInt16 {
        var raw = UInt16(opcode & 0xf) << 11 | UInt16(rcode & 0xf)
        if response { raw |= 0x8000 }
        if authoritative { raw |= 0x0400 }
        if truncated { raw |= 0x0200 }
        if recursionDesired { raw |= 0x0100 }
        if recursionAvailable { raw |= 0x0080 }
        if authenticData { raw |= 0x0020 }
        if checkingDisabled { raw |= 0x0010 }
        return raw
    }

    /// The set flags as `dig` prints them: `qr rd ra`.
    public var names: [String] {
        [
            (response, "qr"), (authoritative, "aa"), (truncated, "tc"), (recursionDesired, "rd"),
            (recursionAvailable, "ra"), (authenticData, "ad"), (checkingDisabled, "cd"),
        ]
        .filter(\.0).map(\.1)
    }
}

/// EDNS0 (the OPT pseudo-record): the sender's UDP payload size, the DO bit, upper rcode bits and options.
public struct EDNS: Sendable, Equatable {
    public var udpPayloadSize: UInt16
    public var extendedRcode: UInt8 = 0
    public var version: UInt8 = 0
    public var dnssecOK = false
    /// Options as (code, data).
    public var options: [EDNSOption] = []

    public init(udpPayloadSize: UInt16, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.dnssecOK = dnssecOK
    }
}

public struct EDNSOption: Sendable, Equatable {
    public var code: UInt16
    public var data: [UInt8]
}

public struct DNSQuestion: Sendable, Equatable {
    public var name: String
    public var type: DNSType
    public var recordClass: UInt16 = 1

    public init(name: String, type: DNSType, recordClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

public struct DNSRecord: Sendable, Equatable {
    public var name: String
    public var type: DNSType
    public var recordClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData
}

/// Record data, decoded for the types Sonde knows; anything else is kept as bytes.
public enum DNSRecordData: Sendable, Equatable {
    case a([UInt8])
    case aaaa([UInt8])
    /// CNAME, NS, PTR (and DNAME): one domain name.
    case name(String)
    case mx(preference: UInt16, exchange: String)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    case soa(mname: String, rname: String, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    case caa(flags: UInt8, tag: String, value: [UInt8])
    case unknown([UInt8])
}

/// A record type: its number, and its mnemonic where it has one.
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)
    public static let srv = DNSType(rawValue: 33)
    public static let dname = DNSType(rawValue: 39)
    public static let opt = DNSType(rawValue: 41)
    public static let any = DNSType(rawValue: 255)
    public static let caa = DNSType(rawValue: 257)

    /// The types `sonde dns --type` accepts by name.
    public static let named: [(String, DNSType)] = [
        ("A", .a), ("AAAA", .aaaa), ("CNAME", .cname), ("MX", .mx), ("TXT", .txt), ("SRV", .srv), ("NS", .ns),
        ("PTR", .ptr), ("SOA", .soa), ("CAA", .caa), ("ANY", .any),
    ]

    /// `A`, `AAAA` …, or `TYPE65280` (RFC 3597) for types without a mnemonic here.
    public var description: String {
        if self == .opt { return "OPT" }
        if self == .dname { return "DNAME" }
        return Self.named.first { $0.1 == self }?.0 ?? "TYPE\(rawValue)"
    }

    /// Parses a mnemonic (any case) or `TYPEnnn`.
    public init?(name: String) {
        let upper = name.uppercased()
        if let known = Self.named.first(where: { $0.0 == upper }) {
            self = known.1
        } else if upper.hasPrefix("TYPE"), let number = UInt16(upper.dropFirst(4)) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }
}

/// A response code, with the names `dig` prints.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formErr = DNSResponseCode(rawValue: 1)
    public static let servFail = DNSResponseCode(rawValue: 2)
    public static let nxDomain = DNSResponseCode(rawValue: 3)
    public static let notImp = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    static let names = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "RESERVED12", "RESERVED13", "RESERVED14",
        "RESERVED15", "BADVERS",
    ]

    public var description: String { Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "RCODE\(rawValue)" }

    public init?(name: String) {
        guard let index = Self.names.firstIndex(of: name.uppercased()) else { return nil }
        rawValue = UInt16(index)
    }
}
