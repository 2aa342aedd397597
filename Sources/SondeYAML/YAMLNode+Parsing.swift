internal import CYAML

extension YAMLNode {
    /// The most nodes a document may expand to, aliases counted at every use: an anchor used by aliases that
    /// are used by aliases (the "billion laughs") stops here instead of filling memory.
    public static let maxNodes = 100_000

    /// Reads the first and only document of `text` with libyaml: anchors and aliases resolved, `<<` merge keys
    /// applied (as Go's YAML library does, so blackbox.yml files that use them read the same). An empty text is
    /// `nil`.
    public static func parse(_ text: String, maxNodes: Int = YAMLNode.maxNodes) throws(YAMLError) -> YAMLNode? {
        var reader = Reader(maxNodes: maxNodes)
        return try reader.read(Array(text.utf8))
    }
}

/// Builds nodes from libyaml's parser events.
private struct Reader {
    let maxNodes: Int
    private var nodes = 0
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]

    /// Open collections: what is collected so far, its anchor, its line, and how many nodes it holds.
    private struct Open {
        var isMapping: Bool
        var items: [YAMLNode] = []
        var anchor: String?
        var line: Int
        var size = 1
    }
    private var stack: [Open] = []
    private var root: YAMLNode?
    private var documents = 0

    init(maxNodes: Int) { self.maxNodes = maxNodes }

    mutating func read(_ bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLError(line: 0, "out of memory") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
                    let context = parser.context.map { " (\(String(cString: $0)))" } ?? ""
                    throw YAMLError(line: Int(parser.problem_mark.line) + 1, problem + context)
                }
                defer { yaml_event_delete(&event) }
                if try handle(event) { return root }
            }
        }
    }

    /// `true` at the end of the stream.
    private mutating func handle(_ event: yaml_event_t) throws(YAMLError) -> Bool {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { throw YAMLError(line: line, "only one document is read; remove the second `---`") }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let node = YAMLNode(.scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE), line: line)
            try add(node, size: 1, anchor: Self.string(scalar.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let anchored = anchors[name] else { throw YAMLError(line: line, "the alias *\(name) names no anchor before it") }
            try add(anchored.node, size: anchored.size, anchor: nil)
        case YAML_SEQUENCE_START_EVENT:
            stack.append(Open(isMapping: false, anchor: Self.string(event.data.sequence_start.anchor), line: line))
        case YAML_MAPPING_START_EVENT:
            stack.append(Open(isMapping: true, anchor: Self.string(event.data.mapping_start.anchor), line: line))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let open = stack.popLast() else { break }
            let node: YAMLNode
            if open.isMapping {
                node = YAMLNode(.mapping(try Self.merged(open.items)), line: open.line)
            } else {
                node = YAMLNode(.sequence(open.items), line: open.line)
            }
            nodes -= open.size
            try add(node, size: open.size, anchor: open.anchor)
        default:
            break
        }
        return false
    }

    private mutating func add(_ node: YAMLNode, size: Int, anchor: String?) throws(YAMLError) {
        nodes += size
        guard nodes <= maxNodes else {
            throw YAMLError(line: node.line, "the document expands to more than \(maxNodes) nodes (aliases counted at each use)")
        }
        if let anchor { anchors[anchor] = (node, size) }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].items.append(node)
            stack[stack.count - 1].size += size
        }
    }

    /// Keys and values in pairs, with `<<: *anchor` (or a list of them) replaced by the anchored mapping's pairs
    /// that the mapping does not set itself. A key written twice is an error, as in Go's strict decoding.
    private static func merged(_ items: [YAMLNode]) throws(YAMLError) -> [YAMLNode.Pair] {
        var own: [YAMLNode.Pair] = []
        var seen: Set<String> = []
        var inherited: [YAMLNode.Pair] = []
        var index = 0
        while index + 1 < items.count {
            let pair = YAMLNode.Pair(key: items[index], value: items[index + 1])
            index += 2
            guard case .scalar("<<", plain: true) = pair.key.content else {
                if let key = pair.key.text, !seen.insert(key).inserted {
                    throw YAMLError(line: pair.key.line, "\(key) is defined twice in one mapping")
                }
                own.append(pair)
                continue
            }
            let sources = pair.value.items ?? [pair.value]
            for source in sources {
                guard let pairs = source.pairs else {
                    throw YAMLError(line: pair.key.line, "a merge key (<<) takes a mapping or a list of mappings, not \(source.kindDescription)")
                }
                inherited += pairs
            }
        }
        for pair in inherited where !seen.contains(pair.key.text ?? "") {
            own.append(pair)
            seen.insert(pair.key.text ?? "")
        }
        return own
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
