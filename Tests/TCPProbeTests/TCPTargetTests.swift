import SondeCore
import Testing

@testable import TCPProbe

@Suite("TCP targets and text")
struct TCPTargetTests {
    @Test func parsesHostPortAndBracketedIPv6() throws {
        #expect(try HostPort("db:5432") == HostPort(host: "db", port: 5432))
        #expect(try HostPort("10.0.0.1:80") == HostPort(host: "10.0.0.1", port: 80))
        #expect(try HostPort("[fd00::1]:443") == HostPort(host: "fd00::1", port: 443))
        #expect(try HostPort("[fe80::1%eth0]:22") == HostPort(host: "fe80::1%eth0", port: 22))
    }

    @Test(arguments: ["db", "db:", ":80", "db:0", "db:65536", "db:http", "fd00::1:80", "[fd00::1]80", "[fd00::1]:", "[]:80"])
    func refusesMalformedTargets(_ text: String) {
        let error = #expect(throws: ProbeError.self) { try HostPort(text) }
        #expect(error?.code == .invalidTarget)
        #expect(error?.message.contains("'\(text)'") == true || error?.message.contains(text) == true)
    }

    @Test func sendTextEscapes() {
        #expect(EscapedText.bytes("GET / HTTP/1.0\\r\\n\\r\\n") == Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(EscapedText.bytes("\\x00\\x41\\\\") == [0, 0x41, UInt8(ascii: "\\")])
        #expect(EscapedText.bytes("\\xZZ") == Array("\\xZZ".utf8))
        #expect(EscapedText.bytes("trailing\\") == Array("trailing\\".utf8))
    }

    @Test func errnoClassification() {
        #expect(TCPAttempt.classify(0) == .open)
        #expect(TCPAttempt.classify(111) == .refused)
        #expect(TCPAttempt.classify(110) == .timeout)
        #expect(TCPAttempt.classify(113) == .unreachable)
        #expect(TCPAttempt.classify(101) == .unreachable)
        #expect(TCPAttempt.classify(24) == .error)
    }

    @Test func bannersArePrintable() {
        #expect(EscapedText.printable(Array("SSH-2.0-X\r".utf8)) == "SSH-2.0-X")
        #expect(EscapedText.printable([0x41, 0x1b, 0x42]) == "A\\x1bB")
        #expect(EscapedText.printable([0xff, 0x41]) == "\u{FFFD}A")
    }
}
