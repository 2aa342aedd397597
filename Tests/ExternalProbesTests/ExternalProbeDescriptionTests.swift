import Foundation
import SondeCore
import Testing

@testable import ExternalProbes

@Suite("external probe descriptions and trust")
struct ExternalProbeDescriptionTests {
    func decode(_ json: String) throws -> ExternalProbeDescription {
        try JSONDecoder().decode(ExternalProbeDescription.self, from: Data(json.utf8))
    }

    @Test("a description becomes the same declaration a compiled-in probe makes")
    func declaration() throws {
        let description = try decode(
            #"""
            {"kind": "http", "summary": "HTTP GET", "target": "HOST:PORT", "targetAddress": "hostPort",
             "parameters": [
               {"name": "count", "type": "integer", "minimum": 1, "maximum": 10, "default": 2, "summary": "Requests", "role": "repetitions", "short": "c"},
               {"name": "timeout", "type": "seconds", "minimum": 0.1, "maximum": 30, "summary": "Wait", "role": "duration"},
               {"name": "method", "type": "choice", "choices": ["GET", "HEAD"], "default": "GET", "summary": "Method"},
               {"name": "path", "type": "text", "maxLength": 100, "summary": "Path"},
               {"name": "insecure", "type": "boolean", "default": false, "summary": "Skip checks"}]}
            """#)
        let descriptor = try description.descriptor(reserved: ["ping"])
        #expect(descriptor.kind == "http")
        #expect(descriptor.parameter(named: "count")?.type == .integer(1...10))
        #expect(descriptor.parameter(named: "count")?.defaultValue == .integer(2))
        #expect(descriptor.parameter(named: "count")?.role == .repetitions)
        #expect(descriptor.parameter(named: "count")?.optionSpellings == "-c/--count")
        #expect(descriptor.parameter(named: "timeout")?.type == .seconds(0.1...30))
        #expect(descriptor.parameter(named: "method")?.type == .choice(["GET", "HEAD"]))
        #expect(descriptor.parameter(named: "path")?.type == .text(maxLength: 100, format: .any))
        #expect(throws: ProbeError.self) { try descriptor.validate(["count": .integer(11)]) }
    }

    @Test("a description that would be unsafe or ambiguous is refused, saying why")
    func refusals() throws {
        let base = #"{"summary": "s", "target": "t", "targetAddress": "host", "kind": "KIND", "parameters": PARAMETERS}"#
        let cases: [(String, String, String)] = [
            ("Bad", "[]", "kind 'Bad' is not lowercase"),
            ("ping", "[]", "kind 'ping' is already taken"),
            ("x", #"[{"name": "target", "type": "boolean", "summary": "s"}]"#, "parameter name 'target' is not a new"),
            ("x", #"[{"name": "n", "type": "integer", "minimum": 5, "maximum": 1, "summary": "s"}]"#, "an integer needs whole minimum <= maximum"),
            ("x", #"[{"name": "n", "type": "text", "summary": "s"}]"#, "text needs maxLength"),
            ("x", #"[{"name": "n", "type": "float", "summary": "s"}]"#, "unknown type 'float'"),
            (
                "x", #"[{"name": "n", "type": "integer", "minimum": 1, "maximum": 3, "default": 9, "summary": "s"}]"#,
                "default 9 is not an integer from 1 to 3"
            ),
            ("x", #"[{"name": "n", "type": "boolean", "role": "speed", "summary": "s"}]"#, "unknown role 'speed'"),
        ]
        for (kind, parameters, message) in cases {
            let description = try decode(base.replacingOccurrences(of: "KIND", with: kind).replacingOccurrences(of: "PARAMETERS", with: parameters))
            let error = #expect(throws: DescriptionError.self) { try description.descriptor(reserved: ["ping"]) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error")")
        }
    }

    @Test("only files their owner alone can write, owned by root or Sonde's user, are trusted")
    func trust() {
        func status(mode: mode_t, owner: uid_t = 0) -> stat {
            var info = stat()
            info.st_mode = mode
            info.st_uid = owner
            return info
        }
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFREG | 0o755), isDirectory: false) == nil)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFREG | 0o775), isDirectory: false)?.contains("writable by group or others") == true)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFREG | 0o757), isDirectory: false)?.contains("writable by group or others") == true)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFREG | 0o644), isDirectory: false)?.contains("not executable") == true)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFLNK | 0o777), isDirectory: false)?.contains("symbolic link") == true)
        #expect(
            ExternalProbeLoader.trustProblem(status(mode: S_IFREG | 0o755, owner: 4242), isDirectory: false)?.contains("owned by uid 4242") == true)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFDIR | 0o777), isDirectory: true)?.contains("writable by group or others") == true)
        #expect(ExternalProbeLoader.trustProblem(status(mode: S_IFDIR | 0o755), isDirectory: true) == nil)
        // The directory must be root's even when its owner is the user Sonde runs as.
        #expect(
            ExternalProbeLoader.trustProblem(status(mode: S_IFDIR | 0o755, owner: geteuid() == 0 ? 4242 : geteuid()), isDirectory: true)?.contains(
                "must belong to root") == true)
    }
}
