#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes an `Encodable` value as one line of compact JSON, exactly as ``SondeJSON/encoder()`` would (sorted
/// keys, unescaped slashes, times as ``SondeJSON/timestamp(_:)``), in a fraction of the time: every report and
/// event the API and the CLI write goes through here, and FoundationEssentials' `JSONEncoder` was a sixth of the
/// API's CPU time per probe. The equivalence is a test (`JSONLineEncoderTests`).
enum JSONLineEncoder {
    /// The JSON text of `value`; throws `EncodingError` for a non-finite number, as `JSONEncoder` does.
    static func encode(_ value: some Encodable) throws -> String {
        let root = Node()
        try root.encode(value, codingPath: [])
        var output = ""
        root.write(to: &output)
        return output
    }

    /// A JSON string literal; escapes what `JSONEncoder` escapes (quote, backslash, control characters).
    static func quoted(_ text: String) -> String {
        var output = "\""
        var plain = true
        for byte in text.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            output += text
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output += "\\\""
                case "\\": output += "\\\\"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case "\u{08}": output += "\\b"
                case "\u{0C}": output += "\\f"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
        return output
    }

    /// One value being built: nothing yet, a finished piece of JSON text, an object or an array.
    fileprivate final class Node {
        enum Content {
            case empty
            case text(String)
            case object([String: Node])
            case array([Node])
        }

        var content = Content.empty

        func encode(_ value: some Encodable, codingPath: [any CodingKey]) throws {
            switch value {
            case let text as String: content = .text(JSONLineEncoder.quoted(text))
            case let number as Double: content = .text(try Self.number(number, codingPath: codingPath))
            case let number as Float: content = .text(try Self.number(number, codingPath: codingPath))
            case let date as Date: content = .text(JSONLineEncoder.quoted(SondeJSON.timestamp(date)))
            case let flag as Bool: content = .text(flag ? "true" : "false")
            case let integer as Int: content = .text(String(integer))
            case let integer as any BinaryInteger: content = .text(String(describing: integer))
            default: try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
            }
        }

        /// An object's member `key`, made if new; the node becomes an object if it was empty.
        func member(_ key: String) -> Node {
            var members: [String: Node] = [:]
            if case .object(let existing) = content { members = existing }
            if let node = members[key] { return node }
            content = .empty  // the only reference left is `members`: inserting does not copy it
            let node = Node()
            members[key] = node
            content = .object(members)
            return node
        }

        func makeObject() {
            if case .object = content { return }
            content = .object([:])
        }

        /// A new last element; the node becomes an array if it was empty.
        func append() -> Node {
            var elements: [Node] = []
            if case .array(let existing) = content { elements = existing }
            content = .empty
            let node = Node()
            elements.append(node)
            content = .array(elements)
            return node
        }

        func makeArray() {
            if case .array = content { return }
            content = .array([])
        }

        var count: Int {
            switch content {
            case .array(let elements): elements.count
            case .object(let members): members.count
            default: 0
            }
        }

        func write(to output: inout String) {
            switch content {
            case .empty: output += "{}"
            case .text(let text): output += text
            case .array(let elements):
                output += "["
                for (index, element) in elements.enumerated() {
                    if index > 0 { output += "," }
                    element.write(to: &output)
                }
                output += "]"
            case .object(let members):
                output += "{"
                let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                for (index, key) in keys.enumerated() {
                    if index > 0 { output += "," }
                    output += JSONLineEncoder.quoted(key)
                    output += ":"
                    members[key].map { $0.write(to: &output) }
                }
                output += "}"
            }
        }

        /// A number as `JSONEncoder` writes it: integral values without a fraction, others in Swift's shortest form.
        static func number<Number: BinaryFloatingPoint & CustomStringConvertible>(
            _ value: Number, codingPath: [any CodingKey]
        ) throws -> String {
            guard value.isFinite else {
                throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) is not valid JSON"))
            }
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            return text
        }
    }

    private struct NodeEncoder: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            node.makeObject()
            return KeyedEncodingContainer(KeyedContainer(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            node.makeArray()
            return UnkeyedContainer(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).content = .text("null") }
        mutating func encode(_ value: some Encodable, forKey key: Key) throws {
            try node.member(key.stringValue).encode(value, codingPath: codingPath + [key])
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = node.member(key.stringValue)
            child.makeObject()
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = node.member(key.stringValue)
            child.makeArray()
            return UnkeyedContainer(node: child, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.member("super"), codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
    }

    private struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.count }

        mutating func encodeNil() throws { node.append().content = .text("null") }
        mutating func encode(_ value: some Encodable) throws { try node.append().encode(value, codingPath: codingPath) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = node.append()
            child.makeObject()
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = node.append()
            child.makeArray()
            return UnkeyedContainer(node: child, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.append(), codingPath: codingPath) }
    }

    private struct SingleContainer: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.content = .text("null") }
        mutating func encode(_ value: some Encodable) throws { try node.encode(value, codingPath: codingPath) }
    }
}
