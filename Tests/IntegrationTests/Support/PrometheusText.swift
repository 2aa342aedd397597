import Foundation

/// Reading the Prometheus text format in tests that compare Sonde with blackbox_exporter.
enum PrometheusText {
    /// One sample: its name, its labels, its value.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double

        /// The name with the `phase` label's value, if any: what must match between two exporters (other label
        /// values — addresses' hashes, fingerprints — differ by nature).
        var key: String { labels["phase"].map { "\(name){phase=\"\($0)\"}" } ?? name }
    }

    static func samples(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let head = line[..<space]
            let name = String(head.prefix { $0 != "{" })
            var labels: [String: String] = [:]
            var rest = head.dropFirst(name.count + 1)
            // name="value" pairs; values may hold commas, braces and escaped quotes.
            while let equals = rest.firstIndex(of: "=") {
                let label = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var index = rest.index(equals, offsetBy: 2)
                var value = ""
                while index < rest.endIndex, rest[index] != "\"" {
                    if rest[index] == "\\", rest.index(after: index) < rest.endIndex { index = rest.index(after: index) }
                    value.append(rest[index])
                    index = rest.index(after: index)
                }
                labels[label] = value
                rest = index < rest.endIndex ? rest[rest.index(after: index)...] : ""
            }
            return Sample(name: name, labels: labels, value: value)
        }
    }

    /// ``Sample/key`` → value, for the series without labels or with a phase only.
    static func series(_ text: String) -> [String: Double] {
        Dictionary(samples(text).map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// ``Sample/key`` → the names of its labels.
    static func labelNames(_ text: String) -> [String: Set<String>] {
        Dictionary(samples(text).map { ($0.key, Set($0.labels.keys)) }, uniquingKeysWith: { $0.union($1) })
    }

    /// What `theirs` writes that `ours` does not: a series (name and phase) missing, or label names it lacks.
    /// Extra series and labels in `ours` are additions, which are allowed.
    static func missing(in ours: String, from theirs: String, where include: (String) -> Bool = { _ in true }) -> [String] {
        let mine = labelNames(ours)
        return labelNames(theirs).filter { include($0.key) }.compactMap { key, labels in
            guard let have = mine[key] else { return key }
            let lacking = labels.subtracting(have)
            return lacking.isEmpty ? nil : "\(key) without the labels \(lacking.sorted())"
        }.sorted()
    }
}
