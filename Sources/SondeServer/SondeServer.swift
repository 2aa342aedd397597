import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
public import SondeCore
public import SondeHTTP
import UnixSignals

/// The sidecar face: the probe registry behind a JSON HTTP API.
///
/// Build it after the privilege drop (it starts NIO threads), then ``run(logger:)``. Routes:
/// `GET /v1/probes`, `GET|POST /v1/probes/{kind}`, `GET /ping/{dstIP}/{count}`, `GET /v1/status`,
/// `GET /healthz`, `GET /readyz`, `GET /openapi.json`.
public struct SondeServer: Sendable {
    public let configuration: ServerConfiguration
    public let state: ServerState
    let service: ProbeService
    let version: String
    let status: @Sendable () -> JSONValue
    /// Sonde's own metrics (`GET /metrics`).
    public let metrics: AgentMetrics
    /// The modules of `GET /probe`.
    public let modules: BlackboxModules

    /// - Parameters:
    ///   - registry: the probes to serve.
    ///   - configuration: listening address, token, policy, limits.
    ///   - version: reported in the OpenAPI document and `/v1/status`.
    ///   - status: what `/v1/status` reports about the process (privileges, ICMP socket mode).
    ///   - modules: the modules of `GET /probe` (see ``BlackboxModules``); `nil` for the defaults.
    ///   - metrics: where Sonde's own metrics are kept.
    public init(
        registry: ProbeRegistry, configuration: ServerConfiguration, version: String,
        modules: BlackboxModules? = nil, metrics: AgentMetrics? = nil,
        status: @escaping @Sendable () -> JSONValue = { [:] }
    ) {
        let metrics = metrics ?? AgentMetrics(version: version)
        self.configuration = configuration
        self.state = ServerState()
        self.metrics = metrics
        self.service = ProbeService(registry: registry, configuration: configuration, metrics: metrics)
        self.modules = modules ?? BlackboxModules.defaults(descriptors: service.listing)
        self.version = version
        self.status = status
    }

    /// The probes' declarations with this server's limits folded in (what modules are checked against).
    public var descriptors: [ProbeDescriptor] { service.listing }

    /// Probes running now.
    public var runningProbes: Int { service.limiter.running }

    /// The router with every route and middleware; `requestLogger` receives one line per request.
    public func makeRouter(requestLogger: Logger) -> Router<SondeRequestContext> {
        let router = Router(context: SondeRequestContext.self)
        let legacyOpen = configuration.legacyPingWithoutToken
        router.addStandardMiddleware(
            logger: requestLogger, state: state, metrics: metrics, token: configuration.listener.token, maxBody: configuration.listener.maxBodyBytes
        ) { path in
            path == "/healthz" || path == "/readyz" || (legacyOpen && path.hasPrefix("/ping/"))
        }

        let service = {
            var service = self.service
            service.audit = requestLogger
            return service
        }()
        let state = self.state
        let maxBody = configuration.listener.maxBodyBytes
        let openAPI =
            OpenAPIDocument.make(
                probes: service.published, version: version, legacyPingWithoutToken: legacyOpen, modules: modules.modules.keys.sorted()
            ).serialized() + "\n"
        let listing = SondeJSON.line(ProbeListingResponse(probes: service.published.map(ProbeListing.init))) + "\n"

        router.route("/v1/probes", [.get: { _, _ in HTTPService.json(listing) }])
        router.route(
            "/v1/probes/:kind",
            [
                .get: { request, context in
                    let format = try negotiate(request)
                    let input = try ProbeInput.decode(query: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
                    return try await service.respond(
                        kind: context.parameters.get("kind") ?? "", input: input, format: format, client: context.clientLimitKey,
                        connection: context.connection)
                },
                .post: { request, context in
                    let format = try negotiate(request)
                    let body = try await HTTPService.jsonBody(of: request, upTo: maxBody)
                    let input = try ProbeInput.decode(json: Array(buffer: body))
                    return try await service.respond(
                        kind: context.parameters.get("kind") ?? "", input: input, format: format, client: context.clientLimitKey,
                        connection: context.connection)
                },
            ])
        router.route(
            "/ping/:dstIP/:count",
            [
                .get: { request, context in
                    let destination = context.parameters.get("dstIP").flatMap(\.percentDecoded) ?? ""
                    let input = try LegacyPing.input(destination: destination, count: context.parameters.get("count") ?? "")
                    return try await service.respond(
                        kind: LegacyPing.kind.rawValue, input: input, format: .text, client: context.clientLimitKey, connection: context.connection)
                }
            ])
        let modules = self.modules
        router.route(
            "/probe",
            [
                .get: { request, context in
                    try await BlackboxEndpoint.respond(to: request, modules: modules, service: service, client: context.clientLimitKey)
                }
            ])
        router.addOperationalRoutes(state: state, metrics: metrics, openAPI: openAPI)
        let status = self.status
        let configuration = self.configuration
        let version = self.version
        router.route(
            "/v1/status",
            [
                .get: { _, _ in
                    let document: JSONValue = [
                        "version": .string(version),
                        "process": status(),
                        "runningProbes": .integer(service.limiter.running),
                        "requestsInFlight": .integer(state.requestsInFlight),
                        "requestsServed": .integer(state.requestsStarted),
                        "draining": .boolean(state.isDraining),
                        "limits": configuration.limits.json(maxBody: configuration.listener.maxBodyBytes),
                        "policy": [
                            "allow": .array(configuration.policy.allow.map { .string($0.description) }),
                            "deny": .array(configuration.policy.deny.map { .string($0.description) }),
                            "localContent": .string(configuration.policy.allowLocalContent ? "allowed" : "refused"),
                        ],
                        "authentication": .string(configuration.listener.authenticationSummary),
                    ]
                    return HTTPService.json(document.serialized() + "\n")
                }
            ])
        return router
    }

    /// The Hummingbird application listening where the configuration says.
    public func makeApplication(logger: Logger) -> some ApplicationProtocol {
        HTTPService.application(
            host: configuration.listener.host, port: configuration.listener.port, serverName: "sonde", logger: logger,
            limits: configuration.listener.connectionLimits, router: makeRouter
        )
    }

    /// Serves until SIGTERM or SIGINT, then drains: `/readyz` fails and new requests get 503 at once,
    /// in-flight probes get ``ServerConfiguration/shutdownGrace`` to finish before they are cancelled.
    public func run(logger: Logger) async throws {
        try await HTTPService.serve(
            makeApplication(logger: logger), state: state, shutdownGrace: configuration.listener.shutdownGrace, logger: logger
        )
    }
}

/// `GET /v1/probes`.
struct ProbeListingResponse: Encodable {
    var probes: [ProbeListing]
}

private func negotiate(_ request: Request) throws(APIError) -> ResponseFormat {
    guard let format = ResponseFormat.negotiate(request.headers[.accept]) else {
        let offered = ResponseFormat.allCases.map(\.rawValue).joined(separator: ", ")
        throw APIError(.notAcceptable, code: "not_acceptable", "Accept '\(request.headers[.accept] ?? "")' offers nothing Sonde writes: \(offered)")
    }
    return format
}

extension ServerLimits {
    func json(maxBody: Int) -> JSONValue {
        [
            "maxConcurrent": .integer(maxConcurrent), "maxConcurrentPerClient": .integer(maxConcurrentPerClient),
            "maxCount": .integer(maxCount), "defaultCount": .integer(defaultCount), "minInterval": .number(minInterval),
            "maxDuration": .number(maxDuration), "maxPayload": .integer(maxPayloadBytes), "maxBody": .integer(maxBody),
        ]
    }
}
