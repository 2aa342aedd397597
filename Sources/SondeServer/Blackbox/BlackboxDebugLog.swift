import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The "Logs for the probe:" section of `/probe?debug=true` in blackbox_exporter's shape: logfmt lines
/// (`ts=… caller=sonde module=… target=… level=info msg=…`), opening with "Beginning probe" and closing with
/// "Probe succeeded" or "Probe failed"; each of Sonde's events in between is one line, its fields as `key=value`.
struct BlackboxDebugLog {
    let module: String
    let target: String
    private(set) var lines: [String] = []

    init(module: String, target: String) {
        self.module = module
        self.target = target
    }

    mutating func begin(probe: String, timeout: Duration?) {
        var fields = [("probe", probe)]
        if let timeout { fields.append(("timeout_seconds", DecimalFormat.shortest(timeout.inSeconds))) }
        append(level: "info", message: "Beginning probe", fields)
    }

    /// The probe's log (JSON lines: its events, then its report; or one line of text saying why it could not run).
    mutating func add(probeLog: [String], success: Bool, duration: Double) {
        for line in probeLog {
            guard let event = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)), case .object(let members) = event else {
                append(level: "error", message: line, [])
                continue
            }
            let type = members.first { $0.0 == "type" }.map { Self.text($0.1) } ?? "event"
            let time = members.first { $0.0 == "time" }.map { Self.text($0.1) }
            // The line's own ts, msg and target say those; the rest in key order (JSON objects have none).
            let fields = members.filter { !["type", "time", "target"].contains($0.0) }.map { ($0.0, Self.text($0.1)) }.sorted { $0.0 < $1.0 }
            append(level: type == "error" || type == "failure" ? "error" : "info", message: type, fields, at: time)
        }
        let verdict = success ? "Probe succeeded" : "Probe failed"
        append(level: success ? "info" : "error", message: verdict, [("duration_seconds", DecimalFormat.shortest(duration))])
    }

    private mutating func append(level: String, message: String, _ fields: [(String, String)], at time: String? = nil) {
        let head: [(String, String)] = [
            ("ts", time ?? SondeJSON.timestamp(Date())), ("caller", "sonde"), ("module", module), ("target", target), ("level", level),
            ("msg", message),
        ]
        lines.append((head + fields).map { "\($0.0)=\(Self.quoted($0.1))" }.joined(separator: " "))
    }

    private static func text(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.serialized()
    }

    /// A logfmt value: bare when it is one word, else double-quoted with `"` and `\` escaped (as go-kit writes).
    static func quoted(_ value: String) -> String {
        let bare = !value.isEmpty && !value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.isNewline || $0 == "\t" }
        if bare { return value }
        var escaped = "\""
        for character in value {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return escaped + "\""
    }
}
