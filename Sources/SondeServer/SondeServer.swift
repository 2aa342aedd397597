import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
public import SondeCore
public import SondeHTTP
import UnixSignals

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The sidecar face: the probe registry behind a JSON HTTP API.
///
/// Build it after the privilege drop (it starts NIO threads), then ``run(logger:)``. Routes:
/// `GET /v1/probes`, `GET|POST /v1/probes/{kind}`, `GET /ping/{dstIP}/{count}`, `GET /v1/status`,
/// `GET /probe`, `GET /config`, `POST /-/reload`, `GET /metrics`, `GET /healthz`, `GET /readyz`, `GET /openapi.json`.
public struct SondeServer: Sendable {
    public let configuration: ServerConfiguration
    public let state: ServerState
    let service: ProbeService
    let version: String
    let status: @Sendable () -> JSONValue
    /// Sonde's own metrics (`GET /metrics`).
    public let metrics: AgentMetrics
    let loaded: LoadedModules

    /// - Parameters:
    ///   - registry: the probes to serve.
    ///   - configuration: listening address, token, policy, limits, the modules file of `GET /probe`
    ///     (without one, ``BlackboxModules/defaults(descriptors:)``).
    ///   - version: reported in the OpenAPI document and `/v1/status`.
    ///   - status: what `/v1/status` reports about the process (privileges, ICMP socket mode).
    ///   - metrics: where Sonde's own metrics are kept.
    /// - Throws: what ``ServerConfiguration/check(registry:)`` finds wrong with the restrictions or the modules.
    public init(
        registry: ProbeRegistry, configuration: ServerConfiguration, version: String, metrics: AgentMetrics? = nil,
        status: @escaping @Sendable () -> JSONValue = { [:] }
    ) throws(SettingsError) {
        let metrics = metrics ?? AgentMetrics(version: version)
        let modules = try configuration.check(registry: registry)
        self.configuration = configuration
        self.state = ServerState()
        self.metrics = metrics
        self.service = ProbeService(registry: registry, configuration: configuration, metrics: metrics)
        self.version = version
        self.status = status
        self.loaded = LoadedModules(
            Self.snapshot(
                modules ?? BlackboxModules.defaults(descriptors: service.listing), service: service, version: version, configuration: configuration))
        metrics.configurationLoaded(successfully: true, at: loaded.snapshot.loadedAt)
    }

    /// The modules `GET /probe` answers with now.
    public var modules: BlackboxModules { loaded.snapshot.modules }

    private static func snapshot(
        _ modules: BlackboxModules, service: ProbeService, version: String, configuration: ServerConfiguration
    ) -> LoadedModules.Snapshot {
        let openAPI =
            OpenAPIDocument.make(
                probes: service.published, version: version, legacyPingWithoutToken: configuration.legacyPingWithoutToken,
                modules: modules.modules.keys.sorted()
            ).serialized() + "\n"
        return LoadedModules.Snapshot(modules: modules, openAPI: openAPI, loadedAt: Date().timeIntervalSince1970)
    }

    /// Re-reads the modules file, as blackbox_exporter does on SIGHUP and `POST /-/reload`: a valid file replaces
    /// the modules whole; an invalid or unreadable one keeps those loaded and throws why. Either way
    /// `sonde_config_last_reload_successful` says how it went. Without a modules file the defaults stay.
    ///
    /// The file is read as the process is now, after the privilege drop: it must be readable by that user.
    @discardableResult
    public func reloadModules() throws(SettingsError) -> BlackboxModules {
        guard let path = configuration.modulesFile else { return modules }
        do throws(SettingsError) {
            let bytes: [UInt8]
            do {
                bytes = try SmallFile.whole(of: path, atMost: SettingsReader.maxFileBytes)
            } catch {
                throw SettingsError("cannot read the modules file \(path) (read as uid \(getuid())): \(error)")
            }
            let modules = try configuration.modules(yaml: String(decoding: bytes, as: UTF8.self), registry: service.registry)
            let snapshot = Self.snapshot(modules, service: service, version: version, configuration: configuration)
            loaded.replace(with: snapshot)
            metrics.configurationLoaded(successfully: true, at: snapshot.loadedAt)
            return modules
        } catch {
            metrics.configurationLoaded(successfully: false, at: loaded.snapshot.loadedAt)
            throw error
        }
    }

    /// ``reloadModules()`` with its outcome logged: one line, the modules now loaded or why the file was refused.
    func reloadModules(logging logger: Logger, trigger: String) -> Result<BlackboxModules, SettingsError> {
        do {
            let modules = try reloadModules()
            logger.info(
                "modules reloaded",
                metadata: ["trigger": "\(trigger)", "file": "\(configuration.modulesFile ?? "none")", "modules": "\(modules.modules.count)"])
            return .success(modules)
        } catch {
            logger.error(
                "modules reload failed; the loaded modules stay",
                metadata: ["trigger": "\(trigger)", "error": "\(error)", "modules": "\(modules.modules.count)"])
            return .failure(error)
        }
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
        let configuration = self.configuration
        let maxBody = configuration.listener.maxBodyBytes
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
        let loaded = self.loaded
        router.route(
            "/probe",
            [
                .get: { request, context in
                    try await BlackboxEndpoint.respond(
                        to: request, modules: loaded.snapshot.modules, service: service, client: context.clientLimitKey)
                }
            ])
        router.route(
            "/config",
            [
                .get: { _, _ in
                    let snapshot = loaded.snapshot
                    let source = configuration.modulesFile.map { "read from \($0)" } ?? "the defaults (no modules file)"
                    let text =
                        "# the modules of /probe: \(source), loaded at \(DecimalFormat.shortest(snapshot.loadedAt.rounded())) (Unix time)\n"
                        + "# Sonde's module format; secrets are shown as \(ParameterSpec.secretMark)\n"
                        + snapshot.modules.displayed(descriptors: service.listing)
                    return Response(
                        status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
                }
            ])
        let server = self
        router.route(
            "/-/reload",
            [
                .post: { _, _ in
                    switch server.reloadModules(logging: requestLogger, trigger: "POST /-/reload") {
                    case .success(let modules):
                        let document: JSONValue = [
                            "status": "reloaded", "file": configuration.modulesFile.map(JSONValue.string) ?? .null,
                            "modules": .array(modules.modules.keys.sorted().map(JSONValue.string)),
                        ]
                        return HTTPService.json(document.serialized() + "\n")
                    case .failure(let error):
                        throw APIError(.internalServerError, code: "reload_failed", "failed to reload config: \(error); the loaded modules stay")
                    }
                }
            ])
        router.addOperationalRoutes(state: state, metrics: metrics) { loaded.snapshot.openAPI }
        let status = self.status
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
    /// SIGHUP re-reads the modules file (``reloadModules()``).
    public func run(logger: Logger) async throws {
        try await HTTPService.serve(
            makeApplication(logger: logger), state: state, shutdownGrace: configuration.listener.shutdownGrace, logger: logger,
            services: [HangupReloadService(server: self, logger: logger)]
        )
    }
}

/// Reloads the modules on each SIGHUP until shutdown.
struct HangupReloadService: Service {
    let server: SondeServer
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            _ = server.reloadModules(logging: logger, trigger: "SIGHUP")
        }
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
