import Foundation
import SondeCore
import Testing

/// `SondeJSON.line` writes its own JSON; it must be byte for byte what `SondeJSON.encoder()` (FoundationEssentials'
/// `JSONEncoder`: sorted keys, unescaped slashes, Sonde's timestamps) writes for the same value.
@Suite("JSON lines")
struct JSONLineEncoderTests {
    func reference(_ value: some Encodable) throws -> String {
        String(decoding: try SondeJSON.encoder().encode(value), as: UTF8.self)
    }

    struct Inner: Codable, Equatable {
        var name: String
        var values: [Double]
        var flag: Bool?
    }

    enum Shape: Codable, Equatable {
        case point
        case circle(radius: Double)
        case labelled(String, Inner)
    }

    struct Sample: Codable {
        var text: String
        var integer: Int
        var small: Int8
        var huge: UInt64
        var negative: Int64
        var number: Double
        var single: Float
        var flag: Bool
        var time: Date
        var missing: String?
        var present: Int?
        var inner: Inner
        var list: [Inner]
        var table: [String: Int]
        var shapes: [Shape]
        var nested: [[Int?]]
        var empty: [String: String]
        var json: JSONValue
    }

    @Test("every kind of value, nesting, optionals, dictionaries, enums with payloads and JSONValue")
    func structure() throws {
        let sample = Sample(
            text: "a/b \"quoted\" back\\slash", integer: -42, small: -8, huge: .max, negative: .min, number: 0.1 + 0.2, single: 1.5,
            flag: true, time: Date(timeIntervalSince1970: 1_795_000_000.123_9), missing: nil, present: 7,
            inner: Inner(name: "x", values: [1, 2.5, -0.0], flag: nil), list: [Inner(name: "é", values: [], flag: false)],
            table: ["b": 2, "a": 1, "B": 3, "aa": 4, "": 5],
            shapes: [.point, .circle(radius: 2), .labelled("l", Inner(name: "", values: [1e-7], flag: true))],
            nested: [[1, nil], [], [nil]], empty: [:],
            json: ["z": 1, "a": [true, .null, "s", .number(2.5)], "m": ["k": "v"]]
        )
        #expect(SondeJSON.line(sample) == (try reference(sample)))
    }

    @Test("strings: every control character, quotes, slashes, non-ASCII and separators")
    func strings() throws {
        var all = ""
        for value in 0..<0x20 { all.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        let texts = [all, "\u{7F}", "\u{2028}\u{2029}", "🛰️ sonde", "\"\\/", "", "plain ascii text", "tab\there\nnewline\r"]
        for text in texts {
            #expect(SondeJSON.line(text) == (try reference(text)), "\(text.debugDescription)")
            #expect(SondeJSON.line(["key \(text)": text]) == (try reference(["key \(text)": text])), "\(text.debugDescription)")
        }
    }

    @Test("numbers: integral, fractional, tiny, huge, negative zero, random")
    func numbers() throws {
        var values: [Double] = [
            0, -0.0, 1, -1, 0.5, 1e-7, 1e-6, 8.502e-06, 123_456_789.123, 1e15, 1e16, 1e21, 1e22, 2.5e-308,
            .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.000_200_392, 9_007_199_254_740_992, -3.75,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let magnitude = Double.random(in: -12...18, using: &generator)
            values.append((Bool.random(using: &generator) ? 1 : -1) * Double.random(in: 1..<10, using: &generator) * pow(10, magnitude.rounded()))
        }
        for value in values {
            #expect(SondeJSON.line([value]) == (try reference([value])), "\(value)")
        }
        for value in [Float(0.1), 3.4e38, .leastNonzeroMagnitude, 16_777_216, 16_777_218] {
            #expect(SondeJSON.line([value]) == (try reference([value])), "\(value)")
        }
    }

    @Test("non-finite numbers are refused, as JSONEncoder refuses them")
    func nonFinite() {
        for value in [Double.nan, .infinity, -.infinity] {
            #expect(throws: EncodingError.self) { try reference([value]) }
            #expect(SondeJSON.line([value]) == #"{"type":"error","message":"unencodable value"}"#)
        }
    }
}
