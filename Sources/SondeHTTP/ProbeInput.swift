import Hummingbird
import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A probe request as the caller sent it: the target and the raw parameter values, not yet validated.
package struct ProbeInput: Sendable {
    package var target: String
    package var given: [String: ParameterValue]

    package init(target: String, given: [String: ParameterValue]) {
        self.target = target
        self.given = given
    }

    /// Longest target accepted: a host name is at most 253 bytes; room for a port, brackets and a zone.
    package static let maxTargetLength = 300

    /// Longest parameter value in a query string: the request head must stay under the listener's limit (8 KiB per
    /// line) even percent-encoded; longer values go in a POST body.
    package static let maxQueryValueBytes = 2048

    /// From a JSON body: `{"target": "10.0.0.1", "count": 3}`.
    package static func decode(json bytes: [UInt8]) throws(APIError) -> ProbeInput {
        let fields: [String: JSONField]
        do {
            fields = try JSONDecoder().decode([String: JSONField].self, from: Data(bytes))
        } catch {
            throw APIError(.badRequest, code: "invalid_body", "the body must be a JSON object such as {\"target\": \"10.0.0.1\", \"count\": 3}")
        }
        var given: [String: ParameterValue] = [:]
        var target: String?
        for (name, field) in fields {
            switch field {
            case .value(let value) where name == "target":
                guard case .string(let text) = value else {
                    throw APIError(.badRequest, code: "invalid_target", "target must be a string: a host name or address", field: "target")
                }
                target = text
            case .value(let value):
                given[name] = value
            case .null:
                continue
            case .unsupported(let kind):
                throw APIError(.badRequest, code: "invalid_parameter", "\(name) must be a number, string or boolean, not \(kind)", field: name)
            }
        }
        return ProbeInput(target: try checkedTarget(target), given: given)
    }

    /// From a query string: `?target=10.0.0.1&count=3`.
    package static func decode(query: [(name: String, value: String)]) throws(APIError) -> ProbeInput {
        var given: [String: ParameterValue] = [:]
        var target: String?
        for (name, value) in query {
            if name == "target" ? target != nil : given[name] != nil {
                throw APIError(.badRequest, code: "invalid_parameter", "\(name) is given twice: give it once", field: name)
            }
            if name != "target", value.utf8.count > maxQueryValueBytes {
                throw APIError(
                    .badRequest, code: "invalid_parameter",
                    "\(name) is longer than \(maxQueryValueBytes) bytes, too long for a query string: send it in a POST body", field: name)
            }
            if name == "target" { target = value } else { given[name] = .string(value) }
        }
        return ProbeInput(target: try checkedTarget(target), given: given)
    }

    /// A target of bounded length without spaces or control characters (which would forge output lines).
    package static func checkedTarget(_ target: String?, field: String = "target") throws(APIError) -> String {
        guard let target, !target.isEmpty else {
            throw APIError(.badRequest, code: "missing_target", "\(field) is required: the host name or address to probe", field: field)
        }
        guard target.utf8.count <= maxTargetLength,
            !target.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else {
            throw APIError(
                .badRequest, code: "invalid_target",
                "invalid \(field): expected a host name or address of at most \(maxTargetLength) bytes without spaces or control characters",
                field: field
            )
        }
        return target
    }
}

/// One value in a request body: a scalar parameter value, `null`, or something no parameter takes.
package enum JSONField: Decodable {
    case value(ParameterValue)
    case null
    case unsupported(String)

    package init(from decoder: any Decoder) throws {
        if let container = try? decoder.singleValueContainer(), container.decodeNil() {
            self = .null
        } else if let value = try? ParameterValue(from: decoder) {
            self = .value(value)
        } else if (try? decoder.unkeyedContainer()) != nil {
            self = .unsupported("an array")
        } else {
            self = .unsupported("an object")
        }
    }
}
