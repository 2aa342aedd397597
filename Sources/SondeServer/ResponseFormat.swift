import HTTPTypes
import SondeHTTP

/// How a probe's result is delivered, from the request's `Accept` header.
enum ResponseFormat: String, Sendable, CaseIterable {
    /// The report alone, when the probe has finished (`application/json`, the default).
    case json = "application/json"
    /// Each event as a JSON line the moment it happens, then the report.
    case ndjson = "application/x-ndjson"
    /// The same as server-sent events, for browsers (`event: reply` / `data: {…}`).
    case eventStream = "text/event-stream"
    /// The CLI's own text (ping-, nc- or dig-style), line by line as it happens.
    case text = "text/plain"

    var isStreaming: Bool { self != .json }

    /// The first acceptable type in `Accept`, in the caller's order; JSON when there is no header or it
    /// allows anything. `nil` when nothing offered is acceptable.
    static func negotiate(_ accept: String?) -> ResponseFormat? {
        guard let accept, !accept.trimmed.isEmpty else { return .json }
        var wildcard = false
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";").map { String($0).trimmed.lowercased() }
            guard let type = parts.first else { continue }
            if parts.dropFirst().contains(where: { $0.withoutSpaces == "q=0" }) { continue }
            switch type {
            case "application/json": return .json
            case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq": return .ndjson
            case "text/event-stream": return .eventStream
            case "text/plain": return .text
            case "*/*", "application/*": wildcard = true
            default: continue
            }
        }
        return wildcard ? .json : nil
    }

    var contentType: String {
        switch self {
        case .json: "application/json"
        case .ndjson: "application/x-ndjson"
        case .eventStream: "text/event-stream"
        case .text: "text/plain; charset=utf-8"
        }
    }
}

extension String {
    fileprivate var withoutSpaces: String { String(filter { $0 != " " }) }
}
