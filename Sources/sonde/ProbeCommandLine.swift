import SondeCore

/// Command-line arguments for one probe, parsed from the probe's parameter declarations.
///
/// Options follow the declaration: `-c 3`, `-c3`, `--count 3`, `--count=3`; flag aliases such as `-4`; boolean
/// parameters as bare `--name`. Every other word is a target.
struct ProbeCommandLine {
    var targets: [String] = []
    var given: [String: ParameterValue] = [:]
    var json = false
    var quiet = false
    var reportOutstanding = false
    /// A table-redrawing probe prints its report once at the end, never live (mtr's `-r`); always so when piped.
    var report = false
    var wide = false
    var showHelp = false
    var sendGap: Duration?

    /// Output options every probe command accepts, besides the probe's own parameters.
    static let outputOptions: [(spelling: String, summary: String)] = [
        ("-q, --quiet", "Print only the header and the statistics"),
        ("-O", "Print a line for each request unanswered at its timeout, as ping -O (\"no answer yet for icmp_seq=N\")"),
        ("-n, --numeric", "Numeric output (Sonde never looks up reply addresses; accepted for ping compatibility)"),
        ("-r, --report", "Print the report once at the end rather than redraw the table in place (as mtr -r; always so when piped)"),
        ("-w, --report-wide", "Widen the host column to the longest address (as mtr -w)"),
        ("--json", "Print NDJSON: each event as it happens, then the report"),
        ("--send-gap <seconds>", "Least time between any two sends across all targets, like fping -i (default 0.001 with several targets)"),
        ("-h, --help", "Show this help"),
    ]

    init(_ arguments: [String], declaration: some ParameterDeclaration) throws(ProbeError) {
        var arguments = arguments
        var index = 0
        var optionsEnded = false
        func value(for spec: ParameterSpec, spelled option: String, attached: String?) throws(ProbeError) -> String {
            if let attached { return attached }
            index += 1
            guard index < arguments.count else {
                throw ProbeError(.invalidParameter, "option \(option) needs a value: \(spec.allowedValues)")
            }
            return arguments[index]
        }
        // A probe's own letters win over the output options' (traceroute's -q is its queries per hop).
        let claimed = Self.claimedLetters(declaration)
        while index < arguments.count {
            let argument = arguments[index]
            defer { index += 1 }
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                targets.append(argument)
                continue
            }
            switch argument {
            case "--":
                optionsEnded = true
                continue
            case "-h", "--help":
                showHelp = true
                continue
            case "--json":
                json = true
                continue
            case "-q" where !claimed.contains("q"), "--quiet":
                quiet = true
                continue
            case "-O":
                reportOutstanding = true
                continue
            case "-n" where !claimed.contains("n"), "--numeric": continue
            case "-r" where declaration.redrawsTable && !claimed.contains("r"), "--report" where declaration.redrawsTable:
                report = true
                continue
            case "-w" where declaration.redrawsTable && !claimed.contains("w"), "--report-wide" where declaration.redrawsTable:
                wide = true
                continue
            default: break
            }
            // Short options bundled, as mtr users write them (`-rwc 10`, `-rn`): split while the letters take no value.
            if let split = Self.unbundled(argument, declaration: declaration) {
                arguments.replaceSubrange(index...index, with: split)
                index -= 1
                continue
            }
            if argument == "--send-gap" || argument.hasPrefix("--send-gap=") {
                let text: String
                if let equals = argument.firstIndex(of: "=") {
                    text = String(argument[argument.index(after: equals)...])
                } else {
                    index += 1
                    guard index < arguments.count else { throw ProbeError(.invalidParameter, "option --send-gap needs a value: a number of seconds") }
                    text = arguments[index]
                }
                guard let seconds = Double(text), seconds >= 0, seconds <= 60 else {
                    throw ProbeError.invalid(parameter: "--send-gap", value: text, allowed: "a number of seconds from 0 to 60")
                }
                sendGap = .seconds(seconds)
                continue
            }
            if let (spec, flagValue) = Self.flag(argument, in: declaration) {
                given[spec.name] = flagValue
                continue
            }
            let (spec, attached) = try Self.option(argument, in: declaration)
            if case .boolean = spec.type, attached == nil {
                given[spec.name] = .boolean(true)
                continue
            }
            var text = try value(for: spec, spelled: argument, attached: attached)
            if spec.commandLine.repeatable, case .string(let earlier)? = given[spec.name] { text = earlier + "\n" + text }
            do {
                given[spec.name] = try spec.parse(text)
            } catch {
                throw ProbeError(
                    .invalidParameter,
                    // The value refused: for a repeated option, the one repetition at fault.
                    "invalid value '\(error.value)' for \(spec.optionSpellings): expected \(error.allowed)",
                    parameter: error
                )
            }
        }
    }

    /// `-rwc10` as `-r -w -c10`: a word of letters whose first letters are options without a value (output flags,
    /// boolean parameters); the first letter that takes a value keeps the rest as its value. `nil` for anything else.
    static func unbundled(_ argument: String, declaration: some ParameterDeclaration) -> [String]? {
        let letters = Array(argument.dropFirst())
        guard argument.hasPrefix("-"), !argument.hasPrefix("--"), letters.count > 1, letters.allSatisfy({ $0.isLetter || $0.isNumber })
        else { return nil }
        let claimed = claimedLetters(declaration)
        var bare: Set<Character> = ["q", "O", "n"].filter { !claimed.contains($0) }.reduce(into: []) { $0.insert($1) }
        if declaration.redrawsTable { for letter in ["r", "w"] as [Character] where !claimed.contains(letter) { bare.insert(letter) } }
        for spec in declaration.parameters {
            if spec.type == .boolean, let short = spec.commandLine.short { bare.insert(short) }
            for flag in spec.commandLine.flags where flag.spelling.count == 2 { if let letter = flag.spelling.last { bare.insert(letter) } }
        }
        guard let first = letters.first, bare.contains(first) else { return nil }
        var split: [String] = []
        for (offset, letter) in letters.enumerated() {
            if bare.contains(letter) {
                split.append("-\(letter)")
            } else {
                split.append("-" + String(letters[offset...]))
                break
            }
        }
        return split
    }

    /// The short letters the probe's parameters use.
    static func claimedLetters(_ declaration: some ParameterDeclaration) -> Set<Character> {
        Set(declaration.parameters.compactMap(\.commandLine.short))
    }

    /// The output options as a probe's help lists them: without a letter the probe uses for a parameter of its own.
    static func outputOptions(for declaration: some ParameterDeclaration) -> [(spelling: String, summary: String)] {
        let claimed = claimedLetters(declaration)
        let options = outputOptions.filter { declaration.redrawsTable || !$0.spelling.contains("--report") }
        return options.map { option in
            guard option.spelling.hasPrefix("-"), !option.spelling.hasPrefix("--"), let letter = option.spelling.dropFirst().first,
                claimed.contains(letter), let comma = option.spelling.firstIndex(of: ",")
            else { return option }
            return (String(option.spelling[option.spelling.index(after: comma)...].drop { $0 == " " }), option.summary)
        }
    }

    private static func flag(_ argument: String, in declaration: some ParameterDeclaration) -> (ParameterSpec, ParameterValue)? {
        for spec in declaration.parameters {
            if let flag = spec.commandLine.flags.first(where: { $0.spelling == argument }) {
                return (spec, flag.value)
            }
        }
        return nil
    }

    /// The declaration an option names, and a value attached to it (`-c3`, `--count=3`).
    private static func option(_ argument: String, in declaration: some ParameterDeclaration) throws(ProbeError) -> (ParameterSpec, String?) {
        if argument.hasPrefix("--") {
            var name = argument
            var attached: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                attached = String(argument[argument.index(after: equals)...])
            }
            if let spec = declaration.parameters.first(where: { $0.longOption == name }) { return (spec, attached) }
        } else {
            let letter = argument.dropFirst().first
            let rest = String(argument.dropFirst(2))
            if let spec = declaration.parameters.first(where: { $0.commandLine.short != nil && $0.commandLine.short == letter }) {
                return (spec, rest.isEmpty ? nil : rest)
            }
        }
        throw ProbeError(
            .unknownParameter,
            "unknown option '\(argument)' for sonde \(declaration.name) (see sonde \(declaration.name) --help)"
        )
    }

    /// Help text generated from the declarations.
    static func help(for descriptor: ProbeDescriptor) -> String {
        var rows: [(String, String)] = []
        for spec in descriptor.parameters {
            var spelling = spec.commandLine.short.map { "-\($0), " } ?? "    "
            spelling += spec.longOption
            if spec.type != .boolean { spelling += " <\(spec.type.placeholder)>" }
            var summary = spec.summary
            switch spec.type {
            case .integer(let range): summary += " [\(range.lowerBound)–\(range.upperBound)]"
            case .seconds(let range): summary += " [\(DecimalFormat.shortest(range.lowerBound))–\(DecimalFormat.shortest(range.upperBound)) s]"
            case .choice(let words): summary += " [\(words.joined(separator: "|"))]"
            default: break
            }
            if let value = spec.defaultValue { summary += " (default: \(value))" }
            rows.append((spelling, summary))
            for flag in spec.commandLine.flags {
                rows.append(("\(flag.spelling)", "Same as \(spec.longOption) \(flag.value)"))
            }
        }
        let width = (rows.map(\.0.count) + outputOptions.map(\.spelling.count) + GlobalOptions.help.map(\.spelling.count)).max() ?? 0
        func format(_ rows: [(String, String)]) -> String {
            rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }.joined(separator: "\n")
        }
        return """
            OVERVIEW: \(descriptor.summary)

            USAGE: sonde \(descriptor.kind) [options] <target> ...

            ARGUMENTS:
              <target>  \(descriptor.target); several targets run at once

            OPTIONS:
            \(format(rows))

            OUTPUT:
            \(format(outputOptions(for: descriptor).map { ($0.spelling, $0.summary) }))

            PRIVILEGES:
            \(format(GlobalOptions.help.map { ($0.spelling, $0.summary) }))

            EXIT STATUS: 0 success (with several targets: every target), 1 the probe failed, 2 bad input or local error.
            """
    }
}

extension ParameterSpec.ValueType {
    /// How help text names a value of this type: `<n>`, `<seconds>`, `<address>`.
    var placeholder: String {
        switch self {
        case .integer: "n"
        case .seconds: "seconds"
        case .boolean: ""
        case .choice: "word"
        case .text(_, let format):
            switch format {
            case .any: "text"
            case .ipAddress: "address"
            case .interfaceOrAddress: "name|address"
            case .regularExpression, .regularExpressionLines: "regex"
            case .headerLines: "header"
            case .lines: "line"
            case .multiline: "text"
            case .pem: "pem"
            case .filePath: "file"
            }
        }
    }
}
