import DNSProbe
public import Foundation
public import HTTPTypes
public import Hummingbird
public import HummingbirdTesting
import Logging
public import NIOCore
import PingProbe
public import SondeCore
public import SondeHTTP
import SondeICMP
public import SondeServer
import TCPProbe

/// A Sonde server over the real probes, for in-process tests. DNS never reaches the host's resolvers: its
/// only nameserver is loopback port 53, where nothing listens.
public enum TestServer {
    public static let token = "test-token-0123456789abcdef"

    /// One set of ICMP sockets and one engine for the whole test process, as in `sonde serve`.
    public static let sockets = ICMPSockets.open()
    public static let icmp = ICMPEngine(sockets: sockets)

    public static let registry = ProbeRegistry([
        PingProbe(engine: icmp),
        TCPConnectProbe(),
        DNSProbe(configuration: { ResolverConfiguration(parsing: "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n") }),
    ])

    /// Whether this process can ping (raw socket as root, or a datagram socket the sysctl allows).
    public static var canPing: Bool {
        if case .success = sockets.mode(for: AddressFamily.ipv4) { return true }
        return false
    }

    /// The declared defaults, on loopback at a port of the kernel's choosing, with ``token``.
    public static let configuration: ServerConfiguration = {
        guard var configuration = try? ServerSettings.configuration(flags: ["host": .string("127.0.0.1")]) else {
            fatalError("the declared defaults of sonde serve do not read")
        }
        configuration.listener.port = 0
        configuration.listener.token = token
        return configuration
    }()

    public static func make(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws(SettingsError) -> SondeServer {
        var configuration = configuration
        configuration.limits.minInterval = 0.01
        adjust(&configuration)
        return try SondeServer(registry: registry, configuration: configuration, version: "test") { ["test": true] }
    }

    public static func application(_ server: SondeServer) -> some ApplicationProtocol {
        var logger = Logger(label: "sonde-test")
        logger.logLevel = .error
        return server.makeApplication(logger: logger)
    }

    public static var authorized: HTTPFields { [.authorization: "Bearer \(token)"] }

    public static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }
}

extension TestResponse {
    /// The body as a JSON object (empty when it is not one).
    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error response.
    public var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    public var errorMessage: String { (object["error"] as? [String: Any])?["message"] as? String ?? "" }

    /// NDJSON lines as objects.
    public var lines: [[String: Any]] {
        String(buffer: body).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

extension HTTPFields {
    public static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var merged = lhs
        merged.append(contentsOf: rhs)
        return merged
    }
}

extension ProbeRestrictions {
    /// `--probes` and `--deny-parameters` as the settings reader would give them.
    public static func parsing(probes: String? = nil, deny: String? = nil) throws(SettingsError) -> ProbeRestrictions {
        var values: [String: ParameterValue] = [:]
        if let probes { values["probes"] = .string(probes) }
        if let deny { values["denyParameters"] = .string(deny) }
        return try ProbeRestrictions(ParameterValues(values))
    }
}

/// Checks on a served OpenAPI document that a validator would make.
public enum OpenAPIChecks {
    /// Every `$ref` in `document` that names no schema of its `components.schemas` (empty when all resolve).
    public static func unresolvedReferences(in document: [String: Any]) -> [String] {
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        var unresolved: [String] = []
        func visit(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String {
                    let name = reference.hasPrefix("#/components/schemas/") ? String(reference.dropFirst("#/components/schemas/".count)) : ""
                    if schemas[name] == nil { unresolved.append(reference) }
                }
                object.values.forEach(visit)
            } else if let array = value as? [Any] {
                array.forEach(visit)
            }
        }
        visit(document)
        return unresolved
    }
}
