/// One node of a YAML document, with the line it starts on, so that an error can name where it is.
public struct YAMLNode: Sendable, Equatable {
    /// A mapping's key and value, in the order of the file.
    public struct Pair: Sendable, Equatable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public enum Content: Sendable, Equatable {
        /// A scalar's text; `plain` when it was written without quotes (only then can it be a number, a boolean
        /// or null).
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public var content: Content
    /// 1-based.
    public var line: Int

    public init(_ content: Content, line: Int) {
        self.content = content
        self.line = line
    }

    /// The scalar's text, whatever its type.
    public var text: String? {
        if case .scalar(let text, _) = content { text } else { nil }
    }

    public var isNull: Bool {
        guard case .scalar(let text, plain: true) = content else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// `true`/`false` as YAML 1.2's core schema writes them (Go's YAML library reads the same).
    public var boolean: Bool? {
        guard case .scalar(let text, plain: true) = content else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    public var integer: Int? {
        guard case .scalar(let text, plain: true) = content else { return nil }
        return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text)
    }

    public var number: Double? {
        guard case .scalar(let text, plain: true) = content else { return nil }
        if let integer { return Double(integer) }
        guard text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else { return nil }
        return Double(text)
    }

    public var items: [YAMLNode]? {
        if case .sequence(let items) = content { items } else { nil }
    }

    public var pairs: [Pair]? {
        if case .mapping(let pairs) = content { pairs } else { nil }
    }

    /// The value of the mapping's key `name`.
    public subscript(name: String) -> YAMLNode? {
        pairs?.first { $0.key.text == name }?.value
    }

    /// What the node is, for an error message: "a mapping", "a list", "'text'".
    public var kindDescription: String {
        switch content {
        case .scalar(let text, _): "'\(text)'"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}

/// Why a YAML text could not be read: libyaml's message and where.
public struct YAMLError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
