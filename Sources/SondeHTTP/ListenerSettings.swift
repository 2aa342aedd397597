public import Logging
public import SondeCore

/// The settings every listener has — `sonde serve` and `sonde gateway` alike — declared once; each command adds
/// its own around them.
public enum ListenerSettings {
    /// Address, port (the command's default), token file, exposure, body size, shutdown grace, logging, the config
    /// file, the probe restrictions and the connection limits.
    /// - Parameters:
    ///   - defaultPort: the command's port (8090 for the sidecar, 8080 for the gateway).
    ///   - inFlight: what the shutdown grace lets finish ("in-flight probes", "forwarded requests").
    public static func settings(defaultPort: Int, inFlight: String) -> [ParameterSpec] {
        [
            ParameterSpec(
                "host", .text(maxLength: 64, format: .ipAddress),
                summary: "Address to listen on (default: 0.0.0.0 with a token, 127.0.0.1 without; :: for IPv6)"),
            ParameterSpec("port", .integer(1...65_535), default: .integer(defaultPort), summary: "TCP port to listen on"),
            ParameterSpec(
                "tokenFile", .text(maxLength: 4096, format: .any), summary: "File holding the bearer token callers must send (or set SONDE_TOKEN)"),
            ParameterSpec("insecure", .boolean, default: .boolean(false), summary: "Allow listening beyond loopback without a token"),
            ParameterSpec(
                "maxBody", .integer(64...16_777_216), default: .integer(16_384), summary: "Largest request body, in bytes; larger gets 413"),
            ParameterSpec("shutdownGrace", .seconds(0...3600), default: .number(25), summary: "Seconds \(inFlight) may take to finish after SIGTERM"),
            ParameterSpec(
                "logFormat", .choice(LogFormat.allCases.map(\.rawValue)), default: .string(LogFormat.text.rawValue), summary: "Request log format"),
            ParameterSpec(
                "logLevel", .choice(Logger.Level.allCases.map(\.rawValue)), default: .string(Logger.Level.info.rawValue),
                summary: "Least severe log level written"),
            ParameterSpec(
                "config", .text(maxLength: 4096, format: .any),
                summary: "JSON file of settings, keyed by their names in camelCase ({\"maxConcurrent\": 32})"),
        ] + ProbeRestrictions.settings + ConnectionLimits.settings
    }
}

/// Where and how a listener listens and whom it serves, read from the settings of ``ListenerSettings``.
public struct ListenerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The bearer token callers must present; `nil` serves without authentication (loopback only, unless `insecure`).
    public var token: String?
    /// The file the token was read from, if it came from one.
    public var tokenFile: String?
    public var insecure: Bool
    public var maxBodyBytes: Int
    public var shutdownGrace: Duration
    public var logFormat: LogFormat
    public var logLevel: Logger.Level
    /// The probes and parameters callers may use.
    public var restrictions: ProbeRestrictions
    /// What one connection may hold before it reaches a route.
    package var connectionLimits: ConnectionLimits

    /// Reads them from validated settings values (which carry every default; the fallbacks are never taken).
    package init(reader: SettingsReader, values: ParameterValues) throws(SettingsError) {
        token = try reader.token(variable: SettingsReader.tokenVariable, fileSetting: "tokenFile", values: values)
        tokenFile = token == nil ? nil : values.string("tokenFile")
        host = values.string("host") ?? (token == nil ? "127.0.0.1" : "0.0.0.0")
        port = values.integer("port") ?? 0
        insecure = values.boolean("insecure") ?? false
        maxBodyBytes = values.integer("maxBody") ?? 0
        shutdownGrace = values.duration("shutdownGrace") ?? .zero
        logFormat = values.string("logFormat").flatMap(LogFormat.init(rawValue:)) ?? .text
        logLevel = values.string("logLevel").flatMap(Logger.Level.init(rawValue:)) ?? .info
        restrictions = try ProbeRestrictions(values)
        connectionLimits = ConnectionLimits(values)
    }

    /// Whether the listening address is a loopback address.
    public var listensOnLoopbackOnly: Bool { Listener.isLoopback(host) }

    /// Refuses to expose an unauthenticated API to the network (see ``Listener/checkExposure(host:token:insecure:)``).
    public func checkExposure() throws(SettingsError) {
        try Listener.checkExposure(host: host, token: token, insecure: insecure)
    }

    /// How the request log and `/v1/status` describe the authentication.
    public var authenticationSummary: String { token == nil ? "none (loopback only)" : "bearer token" }
}
