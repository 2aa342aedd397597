#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The end of every probe run: what was probed, the verdict, timing and the probe's own statistics.
///
/// JSON shape (stable; fields are only ever added):
/// ```json
/// {"type": "report", "probe": "ping", "target": "db", "address": "10.0.0.7", "success": true,
///  "startedAt": "2026-11-24T16:14:09.120Z", "durationSeconds": 2.004,
///  "parameters": {"count": 3}, "summary": { … }}
/// ```
public struct ProbeReport<Summary: ProbeSummary>: Codable, Sendable {
    /// Always `report`, so a stream of events and the report can be told apart line by line.
    public var type: String = "report"
    public var probe: ProbeKind
    /// The target as the caller wrote it.
    public var target: String
    /// The address actually probed, when resolution got that far.
    public var address: String?
    /// The probe's verdict: did the target answer as required.
    public var success: Bool
    public var startedAt: Date
    public var durationSeconds: Double
    /// The parameters in force, defaults included.
    public var parameters: ParameterValues
    public var summary: Summary
    /// How long resolving the target's name took, when the probe resolved one.
    public var lookupSeconds: Double?

    public init(
        probe: ProbeKind,
        target: String,
        address: String?,
        success: Bool,
        startedAt: Date,
        durationSeconds: Double,
        parameters: ParameterValues,
        summary: Summary,
        lookupSeconds: Double? = nil
    ) {
        self.probe = probe
        self.target = target
        self.address = address
        self.success = success
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.parameters = parameters
        self.summary = summary
        self.lookupSeconds = lookupSeconds
    }
}

/// The JSON conventions of every Sonde output: ISO 8601 times, sorted keys, one object per line.
public enum SondeJSON {
    /// Times in UTC with milliseconds: `2026-11-24T16:14:09.120Z`.
    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? timestampStyle.parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected an ISO 8601 time, got \(text)"))
        }
        return decoder
    }

    /// `date` as every Sonde output writes times: `2026-11-24T16:14:09.120Z` (UTC, milliseconds truncated).
    ///
    /// Written by hand from `gmtime_r`: the same text as `Date.ISO8601FormatStyle` gives, at a fraction of the
    /// cost, and without loading the calendar machinery into every process that logs or reports.
    public static func timestamp(_ date: Date) -> String {
        let since1970 = date.timeIntervalSince1970
        var seconds = time_t(since1970.rounded(.down))
        let milliseconds = min(999, max(0, Int(((since1970 - Double(seconds)) * 1000).rounded(.down))))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return date.formatted(timestampStyle) }
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return digits(parts.tm_year + 1900, 4) + "-" + digits(parts.tm_mon + 1, 2) + "-" + digits(parts.tm_mday, 2)
            + "T" + digits(parts.tm_hour, 2) + ":" + digits(parts.tm_min, 2) + ":" + digits(parts.tm_sec, 2)
            + "." + digits(Int32(milliseconds), 3) + "Z"
    }

    /// One value as one line of NDJSON (no trailing newline): what ``encoder()`` writes, written faster.
    public static func line(_ value: some Encodable) -> String {
        do {
            return try JSONLineEncoder.encode(value)
        } catch {
            return #"{"type":"error","message":"unencodable value"}"#
        }
    }
}
