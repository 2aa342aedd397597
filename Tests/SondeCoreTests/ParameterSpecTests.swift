import SondeCore
import Testing

@Suite("Parameter declarations")
struct ParameterSpecTests {
    let count = ParameterSpec("count", .integer(1...10), summary: "n", cli: .init(short: "c"))
    let interval = ParameterSpec("interval", .seconds(0.2...60), default: .number(1), summary: "s")
    let mode = ParameterSpec("pmtuDiscovery", .choice(["do", "dont"]), summary: "m")

    @Test func integersParseDecimalAndHexWithinBounds() throws {
        #expect(try count.parse("3") == .integer(3))
        #expect(try count.parse("0x0a") == .integer(10))
        #expect(throws: ParameterError(parameter: "count", value: "11", allowed: "an integer from 1 to 10")) {
            try count.parse("11")
        }
        #expect(throws: ParameterError.self) { try count.parse("three") }
        #expect(throws: ParameterError.self) { try count.parse("") }
    }

    @Test("PEM text: BEGIN and END blocks, line breaks allowed; a private key in it is shown as <secret>, certificates as they are")
    func pemText() throws {
        let spec = ParameterSpec("keyPem", .text(maxLength: 1000, format: .pem), summary: "a key")
        let key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
        #expect(try spec.validate(.string(key)) == .string(key))
        #expect(throws: ParameterError.self) { try spec.validate(.string("MIIE")) }
        #expect(throws: ParameterError.self) { try spec.validate(.string("-----BEGIN X-----\u{7}-----END X-----")) }
        #expect(spec.displayed(.string(key)) == .string(ParameterSpec.secretMark))
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        #expect(spec.displayed(.string(certificate)) == .string(certificate))
    }

    @Test func secondsAcceptFractionsAndRejectNonFinite() throws {
        #expect(try interval.parse("0.25") == .number(0.25))
        #expect(throws: ParameterError.self) { try interval.parse("0.1") }
        #expect(throws: ParameterError.self) { try interval.parse("nan") }
        #expect(throws: ParameterError.self) { try interval.parse("inf") }
        #expect(interval.allowedValues == "a number of seconds from 0.2 to 60")
    }

    @Test func jsonValuesConvertOnlyWhenLossless() throws {
        #expect(try count.validate(.number(4)) == .integer(4))
        #expect(throws: ParameterError.self) { try count.validate(.number(4.5)) }
        #expect(try interval.validate(.integer(2)) == .number(2))
        #expect(throws: ParameterError.self) { try count.validate(.boolean(true)) }
        #expect(try mode.validate(.string("do")) == .string("do"))
        #expect(throws: ParameterError.self) { try mode.validate(.string("maybe")) }
    }

    @Test func spellingsComeFromTheDeclaration() {
        #expect(count.optionSpellings == "-c/--count")
        #expect(mode.longOption == "--pmtu-discovery")
        #expect(mode.allowedValues == "one of do, dont")
    }

    @Test func textFormatsAreChecked() throws {
        let interface = ParameterSpec("interface", .text(maxLength: 64, format: .interfaceOrAddress), summary: "i")
        #expect(try interface.parse("eth0") == .string("eth0"))
        #expect(try interface.parse("10.0.0.1") == .string("10.0.0.1"))
        #expect(throws: ParameterError.self) { try interface.parse("a/b") }
        #expect(throws: ParameterError.self) { try interface.parse("averyveryverylonginterfacename") }
        let free = ParameterSpec("note", .text(maxLength: 4, format: .any), summary: "t")
        #expect(throws: ParameterError.self) { try free.parse("hello") }
        #expect(throws: ParameterError.self) { try free.parse("a\u{7}") }
    }

    @Test func descriptorFillsDefaultsAndRejectsUnknownNames() throws {
        let descriptor = ProbeDescriptor(kind: "demo", summary: "d", target: "t", parameters: [count, interval, mode])
        let values = try descriptor.validate(["count": .integer(2)])
        #expect(values.integer("count") == 2)
        #expect(values.number("interval") == 1)
        #expect(values["pmtuDiscovery"] == nil)
        let error = #expect(throws: ProbeError.self) { try descriptor.validate(["cuont": .integer(2)]) }
        #expect(error?.code == .unknownParameter)
        #expect(error?.message.contains("cuont") == true)
        let refused = #expect(throws: ProbeError.self) { try descriptor.validate(["count": .integer(0)]) }
        #expect(refused?.message == "invalid value '0' for count: expected an integer from 1 to 10")
        #expect(refused?.parameter?.parameter == "count")
    }
}
