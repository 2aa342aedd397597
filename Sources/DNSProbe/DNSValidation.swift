import SondeCore
import SondeRegex

/// blackbox_exporter's `validate_answer_rrs`, `validate_authority_rrs` and `validate_additional_rrs`: patterns on a
/// section's records, each written as Go's `RR.String()` writes it (`name⇥ttl⇥class⇥type⇥data`), judged as blackbox
/// judges them. Written `SECTION CHECK REGEX`, one per `--validate`.
struct DNSValidation: Sendable {
    enum Section: String, Sendable, CaseIterable {
        case answer, authority, additional
    }

    enum Check: String, Sendable, CaseIterable {
        /// Fails if any record matches.
        case failIfMatches = "fail-if-matches"
        /// Fails if every record matches every such pattern (no records: fails too, as in blackbox).
        case failIfAllMatch = "fail-if-all-match"
        /// Fails if a record does not match (or there is none).
        case failIfNotMatches = "fail-if-not-matches"
        /// Fails unless some record matches one such pattern (or there is none).
        case failIfNoneMatches = "fail-if-none-matches"
    }

    var section: Section
    var check: Check
    var pattern: SafeRegex

    static func parse(_ line: String) throws(ProbeError) -> DNSValidation {
        let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        let allowed =
            "SECTION CHECK REGEX: SECTION one of \(Section.allCases.map(\.rawValue).joined(separator: ", ")); CHECK one of "
            + Check.allCases.map(\.rawValue).joined(separator: ", ")
        guard words.count == 3, let section = Section(rawValue: String(words[0])), let check = Check(rawValue: String(words[1])) else {
            throw ProbeError.invalid(parameter: "validate", value: line, allowed: allowed)
        }
        do {
            return DNSValidation(section: section, check: check, pattern: try SafeRegex(String(words[2])))
        } catch {
            throw ProbeError.invalid(parameter: "validate", value: line, allowed: "an RE2 regular expression after the check (\(error.reason))")
        }
    }

    /// The first reason `validations` fail on `records` (section → each record's text), or `nil` when they hold.
    static func failure(of validations: [DNSValidation], records: [Section: [String]]) -> String? {
        for section in Section.allCases {
            let checks = validations.filter { $0.section == section }
            guard !checks.isEmpty else { continue }
            let rows = records[section] ?? []
            let patterns = { (check: Check) in checks.filter { $0.check == check }.map(\.pattern) }
            for check in [Check.failIfNotMatches, .failIfNoneMatches] where rows.isEmpty && !patterns(check).isEmpty {
                return "\(check.rawValue) on the \(section) section, which has no records"
            }
            var allMatch = true
            var anyMatch = false
            for row in rows {
                let text = Array(row.utf8)
                if let pattern = patterns(.failIfMatches).first(where: { $0.matches(text) }) {
                    return "a record of the \(section) section matches /\(pattern.pattern)/: \(row)"
                }
                if patterns(.failIfAllMatch).contains(where: { !$0.matches(text) }) { allMatch = false }
                if let pattern = patterns(.failIfNotMatches).first(where: { !$0.matches(text) }) {
                    return "a record of the \(section) section does not match /\(pattern.pattern)/: \(row)"
                }
                if patterns(.failIfNoneMatches).contains(where: { $0.matches(text) }) { anyMatch = true }
            }
            if !patterns(.failIfAllMatch).isEmpty, allMatch { return "every record of the \(section) section matches the fail-if-all-match patterns" }
            if !patterns(.failIfNoneMatches).isEmpty, !anyMatch {
                return "no record of the \(section) section matches the fail-if-none-matches patterns"
            }
        }
        return nil
    }
}

extension DNSSummary.Record {
    /// As Go's `dns.RR.String()` writes a record (what blackbox's record patterns are matched against).
    var goText: String { "\(name)\t\(ttl ?? 0)\t\(`class`)\t\(type)\t\(data ?? "")" }
}
