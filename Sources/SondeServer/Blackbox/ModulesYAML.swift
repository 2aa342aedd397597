import SondeCore
import SondeHTTP

/// The part of YAML a modules file needs, read into a ``JSONValue``: block mappings nested by indentation,
/// `key: value` pairs, flow mappings (`{count: 5, interval: 0.2}`) and flow sequences (`[a, b]`), plain,
/// single- and double-quoted scalars, and `#` comments. No anchors, tags, multi-line scalars or block
/// sequences — a modules file has no use for them, and a full YAML library would pull all of Foundation and
/// ICU into the binary (5 MB more resident memory in every sidecar).
struct ModulesYAML {
    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    private struct Line {
        var number: Int
        var indent: Int
        var text: Substring
    }

    static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = stripComment(raw)
            let trimmed = content.drop(while: { $0 == " " })
            guard !trimmed.trimmingTrailingSpaces.isEmpty else { continue }
            if content.contains("\t") { throw ParseError(description: "line \(index + 1): tabs are not allowed for indentation") }
            if trimmed.hasPrefix("- ") || trimmed == "-" {
                throw ParseError(description: "line \(index + 1): block sequences (- item) are not supported here; write [a, b]")
            }
            lines.append(Line(number: index + 1, indent: content.count - trimmed.count, text: Substring(trimmed.trimmingTrailingSpaces)))
        }
        var position = 0
        let value = try mapping(lines, &position, indent: lines.first?.indent ?? 0)
        if position < lines.count {
            throw ParseError(description: "line \(lines[position].number): unexpected indentation")
        }
        return value
    }

    private static func mapping(_ lines: [Line], _ position: inout Int, indent: Int) throws(ParseError) -> JSONValue {
        var members: [(String, JSONValue)] = []
        while position < lines.count, lines[position].indent == indent {
            let line = lines[position]
            guard let colon = keyColon(in: line.text) else {
                throw ParseError(description: "line \(line.number): expected `key: value`")
            }
            let key = try scalarText(line.text[..<colon], line: line.number)
            let rest = line.text[line.text.index(after: colon)...].drop(while: { $0 == " " })
            position += 1
            if rest.isEmpty {
                if position < lines.count, lines[position].indent > indent {
                    members.append((key, try mapping(lines, &position, indent: lines[position].indent)))
                } else {
                    members.append((key, .null))
                }
            } else {
                var cursor = rest.startIndex
                let value = try flow(rest, &cursor, line: line.number)
                guard rest[cursor...].allSatisfy({ $0 == " " }) else {
                    throw ParseError(description: "line \(line.number): unexpected text after the value: \(rest[cursor...])")
                }
                members.append((key, value))
            }
        }
        return .object(members)
    }

    /// A value on one line: a flow mapping, a flow sequence, or a scalar.
    private static func flow(_ text: Substring, _ cursor: inout Substring.Index, line: Int) throws(ParseError) -> JSONValue {
        skipSpaces(text, &cursor)
        guard cursor < text.endIndex else { throw ParseError(description: "line \(line): a value is missing") }
        switch text[cursor] {
        case "{":
            cursor = text.index(after: cursor)
            var members: [(String, JSONValue)] = []
            while true {
                skipSpaces(text, &cursor)
                guard cursor < text.endIndex else { throw ParseError(description: "line \(line): unclosed {") }
                if text[cursor] == "}" {
                    cursor = text.index(after: cursor)
                    return .object(members)
                }
                let keyStart = cursor
                while cursor < text.endIndex, text[cursor] != ":" { cursor = text.index(after: cursor) }
                guard cursor < text.endIndex else { throw ParseError(description: "line \(line): expected `key: value` in {}") }
                let key = try scalarText(text[keyStart..<cursor], line: line)
                cursor = text.index(after: cursor)
                members.append((key, try flow(text, &cursor, line: line)))
                skipSpaces(text, &cursor)
                if cursor < text.endIndex, text[cursor] == "," { cursor = text.index(after: cursor) }
            }
        case "[":
            cursor = text.index(after: cursor)
            var elements: [JSONValue] = []
            while true {
                skipSpaces(text, &cursor)
                guard cursor < text.endIndex else { throw ParseError(description: "line \(line): unclosed [") }
                if text[cursor] == "]" {
                    cursor = text.index(after: cursor)
                    return .array(elements)
                }
                elements.append(try flow(text, &cursor, line: line))
                skipSpaces(text, &cursor)
                if cursor < text.endIndex, text[cursor] == "," { cursor = text.index(after: cursor) }
            }
        case "\"", "'":
            let quote = text[cursor]
            var value = ""
            cursor = text.index(after: cursor)
            while cursor < text.endIndex, text[cursor] != quote {
                if quote == "\"", text[cursor] == "\\", text.index(after: cursor) < text.endIndex {
                    cursor = text.index(after: cursor)
                    value.append(text[cursor] == "n" ? "\n" : text[cursor] == "t" ? "\t" : text[cursor])
                } else {
                    value.append(text[cursor])
                }
                cursor = text.index(after: cursor)
            }
            guard cursor < text.endIndex else { throw ParseError(description: "line \(line): unclosed quote") }
            cursor = text.index(after: cursor)
            return .string(value)
        default:
            let start = cursor
            while cursor < text.endIndex, !",}]".contains(text[cursor]) { cursor = text.index(after: cursor) }
            return plain(String(text[start..<cursor]).trimmingTrailingSpaces)
        }
    }

    /// A plain scalar: null, booleans, integers and numbers as YAML 1.2's core schema reads them; else text.
    private static func plain(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .boolean(true)
        case "false", "False", "FALSE": return .boolean(false)
        default:
            if let integer = Int(text) { return .integer(integer) }
            if let number = Double(text), text.first?.isLetter == false { return .number(number) }
            return .string(text)
        }
    }

    private static func scalarText(_ text: Substring, line: Int) throws(ParseError) -> String {
        var cursor = text.startIndex
        let value = try flow(text, &cursor, line: line)
        switch value {
        case .string(let string): return string
        case .integer(let number): return String(number)
        default: throw ParseError(description: "line \(line): a key must be text")
        }
    }

    /// The colon that ends a block key (outside quotes, followed by a space or the end of the line).
    private static func keyColon(in text: Substring) -> Substring.Index? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == ":" {
                let next = text.index(after: index)
                if next == text.endIndex || text[next] == " " { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The line without a comment: `#` at the start or after a space, outside quotes.
    private static func stripComment(_ line: Substring) -> Substring {
        var quote: Character?
        var previous: Character = " "
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#", previous == " " {
                return line[..<index]
            }
            previous = character
        }
        return line
    }

    private static func skipSpaces(_ text: Substring, _ cursor: inout Substring.Index) {
        while cursor < text.endIndex, text[cursor] == " " { cursor = text.index(after: cursor) }
    }
}

extension StringProtocol {
    fileprivate var trimmingTrailingSpaces: String {
        String(self.reversed().drop(while: { $0 == " " || $0 == "\r" }).reversed())
    }
}
