import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import SondeAgentClient
import SondeCore
public import SondeHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The platform's side: one address the platform calls to run a probe from inside any pod, forwarded to the
/// Sonde sidecar in that pod (`http://<srcIP>:<agentPort>`), with the answer streamed back as it arrives.
///
/// Routes: `GET /api/v2/ping/srcIP/{srcIP}/dstIP/{dstIP}/count/{count}` (the original platform API),
/// `GET /v1/agents/{srcIP}/probes`, `GET|POST /v1/agents/{srcIP}/probes/{kind}` (every probe, as the sidecar
/// takes it), `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /openapi.json`.
///
/// `srcIP` must be an address literal inside the configured agent networks, and the port is the gateway's
/// setting, never the caller's: the gateway forwards to sidecars and to nothing else.
public struct SondeGateway: Sendable {
    public let configuration: GatewayConfiguration
    public let state = ServerState()
    public let metrics: AgentMetrics
    let forwarder: AgentForwarder
    let version: String

    public init(configuration: GatewayConfiguration, version: String, metrics: AgentMetrics? = nil) {
        self.configuration = configuration
        self.version = version
        self.metrics = metrics ?? AgentMetrics(version: version)
        self.forwarder = AgentForwarder(configuration: configuration, metrics: self.metrics)
    }

    /// Requests being forwarded now.
    public var forwarding: Int { forwarder.limiter.running }

    public func makeRouter(requestLogger: Logger) -> Router<SondeRequestContext> {
        let router = Router(context: SondeRequestContext.self)
        let state = self.state
        router.addStandardMiddleware(
            logger: requestLogger, state: state, metrics: metrics, token: configuration.listener.token, maxBody: configuration.listener.maxBodyBytes
        ) { path in
            path == "/healthz" || path == "/readyz"
        }
        let forwarder = self.forwarder
        let maxBody = configuration.listener.maxBodyBytes
        let restrictions = configuration.listener.restrictions

        router.route(
            "/api/v2/ping/srcIP/:srcIP/dstIP/:dstIP/count/:count",
            [
                .get: { request, context in
                    let count = context.parameters.get("count") ?? ""
                    guard let value = Int(count), (1...10).contains(value) else {
                        throw APIError(
                            .badRequest, code: "invalid_parameter", "invalid count '\(count)': expected an integer from 1 to 10", field: "count")
                    }
                    let destination = context.parameters.get("dstIP").flatMap(\.percentDecoded) ?? ""
                    try restrictions.authorize(kind: "ping", parameters: ["count"])
                    return try await forwarder.forward(
                        to: context.parameters.get("srcIP"), method: "GET",
                        path: "/probes/ping" + AgentForwarder.query([("target", destination), ("count", String(value))]),
                        request: request, client: context.clientLimitKey, connection: context.connection
                    )
                }
            ])
        // The sidecar's listing, less what this gateway's callers may not use.
        var listing: (@Sendable ([UInt8]) -> [UInt8]?)?
        if restrictions != ProbeRestrictions() {
            listing = { bytes in Self.published(listing: bytes, restrictions: restrictions) }
        }
        router.route(
            "/v1/agents/:srcIP/probes",
            [
                .get: { [listing] request, context in
                    try await forwarder.forward(
                        to: context.parameters.get("srcIP"), method: "GET", path: "/probes", request: request, client: context.clientLimitKey,
                        connection: context.connection, rewrite: listing
                    )
                }
            ])
        router.route(
            "/v1/agents/:srcIP/probes/:kind",
            [
                .get: { request, context in
                    let kind = try AgentForwarder.kind(context.parameters.get("kind"))
                    let items = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
                    try restrictions.authorize(kind: kind, parameters: items.map(\.0).filter { $0 != "target" })
                    let query = AgentForwarder.query(items)
                    return try await forwarder.forward(
                        to: context.parameters.get("srcIP"), method: "GET", path: "/probes/\(kind)" + query, request: request,
                        client: context.clientLimitKey, connection: context.connection
                    )
                },
                .post: { request, context in
                    let kind = try AgentForwarder.kind(context.parameters.get("kind"))
                    let body = try await HTTPService.jsonBody(of: request, upTo: maxBody)
                    if restrictions != ProbeRestrictions() {
                        try restrictions.authorize(kind: kind, parameters: [])
                        try restrictions.authorize(kind: kind, parameters: try ProbeInput.decode(json: Array(buffer: body)).given.keys)
                    }
                    return try await forwarder.forward(
                        to: context.parameters.get("srcIP"), method: "POST", path: "/probes/\(kind)", request: request,
                        body: Array(buffer: body), client: context.clientLimitKey, connection: context.connection
                    )
                },
            ])
        let openAPI = GatewayOpenAPI.make(version: version, configuration: configuration).serialized() + "\n"
        router.addOperationalRoutes(state: state, metrics: metrics) { openAPI }
        return router
    }

    public func makeApplication(logger: Logger) -> some ApplicationProtocol {
        HTTPService.application(
            host: configuration.listener.host, port: configuration.listener.port, serverName: "sonde-gateway", logger: logger,
            limits: configuration.listener.connectionLimits, router: makeRouter
        )
    }

    /// Serves until SIGTERM or SIGINT, then drains like the sidecar.
    public func run(logger: Logger) async throws {
        try await HTTPService.serve(
            makeApplication(logger: logger), state: state, shutdownGrace: configuration.listener.shutdownGrace, logger: logger)
    }

    /// A sidecar's listing as this gateway's callers see it, or `nil` when it is not one.
    static func published(listing bytes: [UInt8], restrictions: ProbeRestrictions) -> [UInt8]? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), let published = restrictions.published(listing: value) else {
            return nil
        }
        return Array((published.serialized() + "\n").utf8)
    }
}
