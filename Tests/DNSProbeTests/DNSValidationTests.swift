import SondeCore
import Testing

@testable import DNSProbe

/// `--validate` judges a section's records as blackbox_exporter's validate_*_rrs do, on Go's record text.
@Suite("DNS record validation (blackbox's validate_*_rrs)")
struct DNSValidationTests {
    static let answer = ["www.test.\t300\tIN\tA\t10.0.0.7", "www.test.\t300\tIN\tA\t10.0.0.8"]

    func failure(_ lines: [String], _ records: [DNSValidation.Section: [String]] = [.answer: answer]) throws -> String? {
        DNSValidation.failure(of: try lines.map(DNSValidation.parse), records: records)
    }

    @Test("each check as blackbox judges it, an empty section included")
    func checks() throws {
        #expect(try failure(["answer fail-if-matches 10\\.0\\.0\\.8"])?.contains("matches /10\\.0\\.0\\.8/: www.test.\t300\tIN\tA\t10.0.0.8") == true)
        #expect(try failure(["answer fail-if-matches 10\\.0\\.0\\.9"]) == nil)
        #expect(try failure(["answer fail-if-all-match ^www\\.test\\."]) != nil, "every record matches")
        #expect(try failure(["answer fail-if-all-match 10\\.0\\.0\\.7$"]) == nil, "one does not")
        #expect(try failure(["answer fail-if-not-matches \\tIN\\tA\\t10\\.0\\.0\\.7$"]) != nil, "the second record does not match")
        #expect(try failure(["answer fail-if-not-matches ^www\\.test\\.\\t300\\tIN\\tA\\t"]) == nil)
        #expect(try failure(["answer fail-if-none-matches 10\\.0\\.0\\.8"]) == nil)
        #expect(try failure(["answer fail-if-none-matches 10\\.0\\.0\\.9", "answer fail-if-none-matches 10\\.0\\.0\\.7"]) == nil, "any pattern")
        #expect(try failure(["answer fail-if-none-matches 10\\.0\\.0\\.9"]) != nil)
        // No records: not-matches and none-matches fail; all-match fails too (blackbox starts from "all match").
        #expect(try failure(["authority fail-if-not-matches ."])?.contains("which has no records") == true)
        #expect(try failure(["authority fail-if-none-matches ."]) != nil)
        #expect(try failure(["authority fail-if-all-match ."]) != nil)
        #expect(try failure(["authority fail-if-matches ."]) == nil)
    }

    @Test("a line that is not SECTION CHECK REGEX is named with what is allowed")
    func refusals() {
        for line in ["answer", "answer fail-if-matches", "answers fail-if-matches x", "answer fails x", "answer fail-if-matches ("] {
            let error = #expect(throws: ProbeError.self) { try DNSValidation.parse(line) }
            #expect(error?.message.contains("for validate") == true, "\(line): \(error?.message ?? "")")
        }
    }

    @Test("records written as Go's RR.String() writes them")
    func goText() {
        let record = DNSSummary.Record(name: "www.test.", ttl: 300, class: "IN", type: "A", data: "10.0.0.7")
        #expect(record.goText == "www.test.\t300\tIN\tA\t10.0.0.7")
    }
}
