/// The single declaration of one probe parameter.
///
/// A probe declares each parameter once; that declaration drives CLI parsing and help, API validation, the
/// OpenAPI document and every error message about the parameter, so they cannot drift apart.
///
/// ```swift
/// ParameterSpec("count", .integer(1...100_000), summary: "Echo requests to send", cli: .init(short: "c"))
/// ```
public struct ParameterSpec: Sendable {
    /// What values the parameter takes.
    public enum ValueType: Sendable, Equatable {
        /// A whole number within bounds. Command-line input may also be written in hex (`0x10`).
        case integer(ClosedRange<Int>)
        /// A number of seconds within bounds (fractions allowed).
        case seconds(ClosedRange<Double>)
        /// `true` or `false`; on the command line a flag without a value.
        case boolean
        /// One of a fixed set of words.
        case choice([String])
        /// Free text of bounded length, optionally with a recognised format.
        case text(maxLength: Int, format: TextFormat)
    }

    /// Formats of free-text parameters that the core knows how to validate.
    public enum TextFormat: String, Sendable, Equatable {
        case any
        /// An IPv4/IPv6 address or a network interface name (like `ping -I`).
        case interfaceOrAddress
        /// An IPv4 or IPv6 address.
        case ipAddress
        /// A regular expression in RE2 syntax (Go's `regexp`, as blackbox_exporter), matched in linear time.
        case regularExpression
        /// RE2 regular expressions, one per line (a repeated option's patterns).
        case regularExpressionLines
        /// Header lines `Name: value`, one per line (a token name, no other control characters).
        case headerLines
        /// Lines of text, one item per line (a repeated option's values), no other control characters.
        case lines
        /// Free text in which line breaks and tabs may appear (a request body), no other control characters.
        case multiline
        /// PEM text (`-----BEGIN …-----` blocks: certificates, a private key) given inline rather than as a file; a
        /// private key in it is never shown back (``ParameterSpec/displayed(_:)``).
        case pem
        /// A file on the machine Sonde runs on. Read only for the command line and the operator's own modules
        /// file (``ProbeContext/readsOperatorFiles``), never for an API caller; never filled from a URL.
        case filePath
    }

    /// How the parameter is spelled on the command line.
    public struct CommandLineSpelling: Sendable, Equatable {
        /// A short option letter, e.g. `c` for `-c`.
        public var short: Character?
        /// The long option name without dashes; defaults to the parameter name in kebab-case.
        public var long: String?
        /// Flags that set the parameter to a fixed value, e.g. `-4` sets `family` to `ipv4`.
        public var flags: [Flag]
        /// Whether the option may be given several times (curl's `-H`); the values join, one per line.
        public var repeatable: Bool

        public struct Flag: Sendable, Equatable {
            public var spelling: String
            public var value: ParameterValue
            public init(_ spelling: String, sets value: ParameterValue) {
                self.spelling = spelling
                self.value = value
            }
        }

        public init(short: Character? = nil, long: String? = nil, flags: [Flag] = [], repeatable: Bool = false) {
            self.short = short
            self.long = long
            self.flags = flags
            self.repeatable = repeatable
        }
    }

    /// What a parameter means for the load a run puts on the network, so a server can bound it generically
    /// (at most N packets, no faster than every T seconds, no longer than D) without knowing the probe.
    public enum Role: String, Sendable, Equatable {
        /// How many packets or attempts a run sends (`count`).
        case repetitions
        /// Seconds between sends (`interval`).
        case interval
        /// A time the run waits or lasts (`timeout`, `deadline`).
        case duration
        /// Bytes of payload per packet (`size`).
        case payloadBytes
        /// Bytes the caller has sent to the target, or the target's own content handed back to the caller
        /// (`send`, `expect`, `banner`): what turns a probe into a reader of the services it reaches. A
        /// server refuses such parameters towards its own addresses unless the operator allows it.
        case content
    }

    /// The key in API requests and reports (camelCase).
    public let name: String
    public let type: ValueType
    /// The value used when the caller gives none; `nil` means the parameter is simply absent.
    public let defaultValue: ParameterValue?
    /// One line: what the parameter does.
    public let summary: String
    public let commandLine: CommandLineSpelling
    /// What the parameter means for load, when it bears on it.
    public let role: Role?

    /// A path on Sonde's own machine (``TextFormat/filePath``).
    public var isFilePath: Bool {
        if case .text(_, .filePath) = type { true } else { false }
    }

    public init(
        _ name: String,
        _ type: ValueType,
        default defaultValue: ParameterValue? = nil,
        summary: String,
        cli commandLine: CommandLineSpelling = .init(),
        role: Role? = nil
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
        self.commandLine = commandLine
        self.role = role
    }

    /// The same parameter with other bounds or default, e.g. narrowed by a server's limits.
    public func with(type: ValueType? = nil, default newDefault: ParameterValue?? = .none) -> ParameterSpec {
        ParameterSpec(
            name, type ?? self.type, default: newDefault ?? defaultValue, summary: summary, cli: commandLine, role: role
        )
    }

    /// The long command-line option, e.g. `--source-address` for `sourceAddress`.
    public var longOption: String {
        "--" + (commandLine.long ?? Self.kebabCase(name))
    }

    /// Every command-line spelling, for messages: `-c/--count`.
    public var optionSpellings: String {
        if let short = commandLine.short { return "-\(short)/\(longOption)" }
        return longOption
    }

    /// What values are allowed, as a phrase that completes "expected …".
    public var allowedValues: String {
        switch type {
        case .integer(let range):
            return "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .seconds(let range):
            return "a number of seconds from \(DecimalFormat.shortest(range.lowerBound)) to "
                + "\(DecimalFormat.shortest(range.upperBound))"
        case .boolean:
            return "true or false"
        case .choice(let words):
            return "one of " + words.joined(separator: ", ")
        case .text(let maxLength, let format):
            switch format {
            case .any: return "text of at most \(maxLength) characters"
            case .interfaceOrAddress: return "an interface name or an IP address"
            case .ipAddress: return "an IPv4 or IPv6 address"
            case .regularExpression: return "an RE2 regular expression of at most \(maxLength) characters"
            case .regularExpressionLines: return "RE2 regular expressions, one per line, at most \(maxLength) characters in all"
            case .headerLines: return "header lines 'Name: value', one per line, at most \(maxLength) characters in all"
            case .lines: return "lines of text without control characters, one per line, at most \(maxLength) characters in all"
            case .multiline: return "text of at most \(maxLength) characters (line breaks and tabs allowed, no other control characters)"
            case .pem: return "PEM text (-----BEGIN ...----- blocks) of at most \(maxLength) characters"
            case .filePath: return "a file path of at most \(maxLength) characters"
            }
        }
    }

    static func kebabCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "-" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
