import SondeCore
import SondeRegex
import Testing

@testable import TCPProbe

@Suite("TCP query_response steps")
struct TCPStepTests {
    @Test("steps parse one per line: expect:REGEX, send:TEXT (a newline appended, escapes), starttls")
    func parsing() throws {
        let steps = try TCPStep.parse("expect:^\\* OK\nsend:a1 LOGIN ${1}\\r\nSTARTTLS\nsend:")
        #expect(steps.count == 4)
        guard case .expect(let regex, lineByLine: true, _) = steps[0] else {
            Issue.record("\(steps[0])")
            return
        }
        #expect(regex.pattern == "^\\* OK")
        guard case .send(let bytes, substituting: true) = steps[1] else {
            Issue.record("\(steps[1])")
            return
        }
        #expect(bytes == Array("a1 LOGIN ${1}\r\n".utf8))
        guard case .startTLS = steps[2] else {
            Issue.record("\(steps[2])")
            return
        }
        guard case .send(let empty, _) = steps[3] else {
            Issue.record("\(steps[3])")
            return
        }
        #expect(empty == [10], "an empty send is a bare newline, as blackbox writes it")
    }

    @Test(
        "a bad step names itself and what is allowed",
        arguments: ["recv:x", "expect:", "expect:(", "starttls:now", "sendx", String(repeating: "send:x\n", count: 33)])
    func badSteps(_ text: String) {
        let error = #expect(throws: ProbeError.self) { try TCPStep.parse(text) }
        #expect(error?.message.contains("step") == true, "\(error?.message ?? "")")
    }

    @Test("${N} takes group N of the last match; a group that did not take part, or none, is empty; other text stays")
    func substitution() {
        let captures: [[UInt8]?] = [Array("PING :abc".utf8), Array("abc".utf8), nil]
        func substituted(_ template: String) -> String {
            String(decoding: TCPConversation.substitute(captures, in: Array(template.utf8)), as: UTF8.self)
        }
        #expect(substituted("PONG ${1}") == "PONG abc")
        #expect(substituted("${0}|${2}|${7}") == "PING :abc||")
        #expect(substituted("$1 ${x} ${1 ${") == "$1 ${x} ${1 ${")
        #expect(substituted("cost: ${123}") == "cost: ${123}", "at most two digits")
    }
}
