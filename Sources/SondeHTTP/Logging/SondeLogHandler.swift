public import Logging
import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes log records to standard error, one line each: `key=value` text for people, or one JSON object
/// per line for log pipelines (`--log-format json`).
public struct SondeLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    package let label: String
    package let format: LogFormat

    public init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let line = Self.line(
            time: Date(), level: event.level, message: event.message.description, fields: fields, format: format
        )
        StandardStream.error.write(line + "\n")
    }

    /// One record as text or JSON; fields in name order so lines diff and grep well.
    package static func line(time: Date, level: Logger.Level, message: String, fields: Logger.Metadata, format: LogFormat) -> String {
        let names = fields.keys.sorted()
        switch format {
        case .json:
            var members: [(String, JSONValue)] = [
                ("time", .string(SondeJSON.timestamp(time))), ("level", .string(level.rawValue)), ("message", .string(message)),
            ]
            for name in names { members.append((name, json(fields[name] ?? ""))) }
            return JSONValue.object(members).serialized()
        case .text:
            var text = "\(SondeJSON.timestamp(time)) \(level.rawValue) \(message)"
            for name in names {
                let value = fields[name]?.description ?? ""
                let quoted = value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? "\"\(value.replacingQuotes)\"" : value
                text += " \(name)=\(quoted)"
            }
            return text
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(members.keys.sorted().map { ($0, json(members[$0] ?? "")) })
        }
    }
}

extension String {
    fileprivate var replacingQuotes: String { String(flatMap { $0 == "\"" ? ["\\", "\""] : [$0] }) }
}
