/// The name a probe is known by everywhere: on the command line (`sonde ping`), in the API
/// (`/v1/probes/ping`), in metrics and in reports.
///
/// An extensible string-backed identifier, so probe modules can declare their own kinds without the core
/// knowing them.
public struct ProbeKind: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static func < (lhs: ProbeKind, rhs: ProbeKind) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
