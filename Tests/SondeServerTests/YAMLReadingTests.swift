import SondeYAML
import Testing

/// The YAML reader the modules file goes through: libyaml's grammar, lines kept, aliases bounded.
@Suite("YAML reading")
struct YAMLReadingTests {
    @Test("block and flow collections, quoting, anchors and merge keys read as Go's YAML library reads them")
    func readsWhatBlackboxFilesUse() throws {
        let text = """
            defaults: &defaults
              prober: http
              timeout: 5s
            modules:
              web:
                <<: *defaults
                timeout: 2s
                http:
                  valid_status_codes: [200, 301]
                  headers:
                    Accept: "text/html"
              steps:
                - expect: '^OK'
                - send: "QUIT"
            """
        let root = try #require(try YAMLNode.parse(text))
        let web = try #require(root["modules"]?["web"])
        #expect(web["prober"]?.text == "http", "merged from the anchor")
        #expect(web["timeout"]?.text == "2s", "the module's own key wins over the merged one")
        #expect(web["http"]?["valid_status_codes"]?.items?.compactMap(\.integer) == [200, 301])
        #expect(web["http"]?["headers"]?["Accept"]?.content == .scalar("text/html", plain: false))
        #expect(web["http"]?.line == 9, "a block mapping starts at its first key")
        let steps = try #require(root["modules"]?["steps"]?.items)
        #expect(steps.map { $0["expect"]?.text ?? $0["send"]?.text } == ["^OK", "QUIT"])
        #expect(YAMLNode(.scalar("true", plain: false), line: 1).boolean == nil, "a quoted 'true' is text")
        #expect(try YAMLNode.parse("") == nil)
    }

    @Test("errors name the line; a second document and unknown aliases are refused")
    func errors() {
        let cases: [(String, String)] = [
            ("a: [1, 2", "line 2:"),
            ("a:\n\tb: 1", "line 2:"),
            ("a: 1\n---\nb: 2", "line 2: only one document"),
            ("a: *nowhere", "names no anchor"),
            ("a: &x {b: 1}\nc: {<<: 5}", "a merge key (<<) takes a mapping"),
            ("a:\n  b: 1\n  c: 2\n  b: 3", "line 4: b is defined twice in one mapping"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: YAMLError.self) { try YAMLNode.parse(text) }
            #expect(error?.description.contains(message) == true, "\(text): \(error?.description ?? "")")
        }
    }

    @Test("aliases of aliases (the billion laughs) stop at the node budget instead of filling memory")
    func billionLaughs() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let error = #expect(throws: YAMLError.self) { try YAMLNode.parse(text) }
        #expect(error?.message.contains("more than \(YAMLNode.maxNodes) nodes") == true, "\(error?.description ?? "")")
        // The same shape, small, reads.
        #expect((try? YAMLNode.parse("a: &a [x, x]\nb: [*a, *a]")) != nil)
    }
}
