import SondeRegex

/// Why a parameter value was refused: which parameter, the value given, and what is allowed.
public struct ParameterError: Error, Sendable, Equatable {
    public let parameter: String
    public let value: String
    public let allowed: String

    public init(parameter: String, value: String, allowed: String) {
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
    }
}

extension ParameterSpec {
    /// Parses and validates a value written as text (a command-line argument or a URL query item).
    public func parse(_ text: String) throws(ParameterError) -> ParameterValue {
        let refused = ParameterError(parameter: name, value: text, allowed: allowedValues)
        switch type {
        case .integer(let range):
            guard let value = Self.parseInteger(text), range.contains(value) else { throw refused }
            return .integer(value)
        case .seconds(let range):
            guard let value = Double(text), value.isFinite, range.contains(value) else { throw refused }
            return .number(value)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes": return .boolean(true)
            case "false", "0", "no": return .boolean(false)
            default: throw refused
            }
        case .choice(let words):
            guard words.contains(text) else { throw refused }
            return .string(text)
        case .text:
            return try validate(.string(text))
        }
    }

    /// The most items a JSON list of a repeatable parameter may have.
    public static let maxListItems = 64

    /// Validates a value that arrived already typed (from JSON), converting where that is lossless.
    public func validate(_ value: ParameterValue) throws(ParameterError) -> ParameterValue {
        let refused = ParameterError(parameter: name, value: value.description, allowed: allowedValues)
        switch (type, value) {
        case (.integer(let range), .integer(let number)):
            guard range.contains(number) else { throw refused }
            return value
        case (.integer(let range), .number(let number)):
            guard number.rounded() == number, let whole = Int(exactly: number), range.contains(whole) else {
                throw refused
            }
            return .integer(whole)
        case (.seconds(let range), .number(let number)):
            guard number.isFinite, range.contains(number) else { throw refused }
            return value
        case (.seconds(let range), .integer(let number)):
            guard range.contains(Double(number)) else { throw refused }
            return .number(Double(number))
        case (.boolean, .boolean):
            return value
        case (.choice(let words), .string(let word)):
            guard words.contains(word) else { throw refused }
            return value
        case (.text(let maxLength, .regularExpression), .string(let text)):
            guard !text.isEmpty, text.utf8.count <= maxLength else { throw refused }
            do {
                _ = try SafeRegex(text)
            } catch {
                throw ParameterError(parameter: name, value: text, allowed: "\(allowedValues) (\(error.reason))")
            }
            return value
        case (.text(let maxLength, .regularExpressionLines), .string(let text)):
            guard !text.isEmpty, text.utf8.count <= maxLength else { throw refused }
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                do {
                    _ = try SafeRegex(String(line))
                } catch {
                    throw ParameterError(parameter: name, value: String(line), allowed: "an RE2 regular expression (\(error.reason))")
                }
            }
            return value
        case (.text(let maxLength, let format), .string(let text)):
            guard !text.isEmpty, text.utf8.count <= maxLength, Self.matches(text, format) else { throw refused }
            return value
        case (.text(let maxLength, _), .list(let items)) where commandLine.repeatable:
            // One item per line, as the repeated option gives them.
            guard (1...Self.maxListItems).contains(items.count), items.allSatisfy({ !$0.isEmpty && !$0.contains(where: \.isNewline) }) else {
                throw ParameterError(
                    parameter: name, value: value.description,
                    allowed: "a list of 1 to \(Self.maxListItems) non-empty one-line strings, at most \(maxLength) characters in all")
            }
            return try validate(.string(items.joined(separator: "\n")))
        case (_, .string(let text)) where !Self.isText(type):
            return try parse(text)
        default:
            throw refused
        }
    }

    private static func isText(_ type: ValueType) -> Bool {
        if case .text = type { return true }
        if case .choice = type { return true }
        return false
    }

    private static func matches(_ text: String, _ format: TextFormat) -> Bool {
        switch format {
        case .any, .filePath:
            return !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
        case .ipAddress:
            return IPAddress(text) != nil
        case .interfaceOrAddress:
            return IPAddress(text) != nil || isInterfaceName(text)
        case .regularExpression:
            return (try? SafeRegex(text)) != nil
        case .regularExpressionLines:
            return text.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { (try? SafeRegex(String($0))) != nil }
        case .headerLines:
            return text.split(separator: "\n").allSatisfy(isHeaderLine)
        case .lines:
            return !text.unicodeScalars.contains { $0 != "\n" && $0.properties.generalCategory == .control }
        case .multiline:
            return !text.unicodeScalars.contains { !["\n", "\r", "\t"].contains($0) && $0.properties.generalCategory == .control }
        case .pem:
            return matches(text, .multiline) && text.contains("-----BEGIN ") && text.contains("-----END ")
        }
    }

    /// `Name: value`: an RFC 9110 token, a colon, then no control character but tab.
    static func isHeaderLine(_ line: Substring) -> Bool {
        guard let colon = line.firstIndex(of: ":") else { return false }
        return isHeaderName(line[..<colon]) && !line[colon...].unicodeScalars.contains { $0 != "\t" && $0.properties.generalCategory == .control }
    }

    /// An RFC 9110 `token`: what a header name is made of.
    public static func isHeaderName(_ text: Substring) -> Bool {
        let tokenBytes = Array("!#$%&'*+-.^_`|~".utf8)
        return !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte) || tokenBytes.contains(byte)
            }
    }

    /// Linux interface names: 1–15 bytes, no slash, colon-free, no white space.
    static func isInterfaceName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (1...15).contains(bytes.count)
            && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }
    }

    static func parseInteger(_ text: String) -> Int? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("0x") { return Int(lowered.dropFirst(2), radix: 16) }
        return Int(text)
    }
}
