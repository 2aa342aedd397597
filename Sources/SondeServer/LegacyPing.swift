import HTTPTypes
import SondeCore

/// `GET /ping/{dstIP}/{count}`: the route platforms already call on troubleshooting containers. Same
/// path, same count range, ping's own text — now streamed as replies arrive instead of after a sleep.
enum LegacyPing {
    /// The probe the route runs.
    static let kind: ProbeKind = "ping"
    static let counts = 1...10

    static func input(destination: String, count text: String) throws(APIError) -> ProbeInput {
        guard let count = Int(text), counts.contains(count) else {
            throw APIError(
                .badRequest, code: "invalid_parameter",
                "invalid value '\(text)' for count: expected an integer from \(counts.lowerBound) to \(counts.upperBound)",
                field: "count"
            )
        }
        return ProbeInput(target: try ProbeInput.checkedTarget(destination, field: "dstIP"), given: ["count": .integer(count)])
    }
}

extension String {
    /// `%XX` sequences decoded (path segments arrive encoded: `fe80::1%25eth0`); `nil` if malformed.
    package var percentDecoded: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
