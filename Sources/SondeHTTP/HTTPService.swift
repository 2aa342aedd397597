public import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import SondeCore
import UnixSignals

/// What Sonde's HTTP faces (the sidecar and the gateway) share: one middleware stack, routes that answer 405
/// with `Allow`, JSON answers, and serving with a drain on SIGTERM.
package enum HTTPService {
    /// Serves `application` until SIGTERM or SIGINT, then drains: `/readyz` fails and new requests get 503 at
    /// once, requests in flight get `shutdownGrace` to finish before they are cancelled.
    package static func serve(
        _ application: some ApplicationProtocol, state: ServerState, shutdownGrace: Duration, logger: Logger,
        services: [any Service] = []
    ) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) } + [
                .init(service: application),
                .init(service: MemoryTrimService(state: state)),
                // Listed last, shut down first: the drain flag goes up before the listener closes.
                .init(service: DrainService(state: state)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        try await ServiceGroup(configuration: configuration).run()
    }

    /// The Hummingbird application for `router`, listening on `host:port` within `limits`, its request log
    /// marked `component=http`.
    package static func application(
        host: String, port: Int, serverName: String, logger: Logger, limits: ConnectionLimits = ConnectionLimits(),
        connections: ConnectionCounter = ConnectionCounter(), router: (Logger) -> Router<SondeRequestContext>
    ) -> some ApplicationProtocol {
        var requestLogger = logger
        requestLogger[metadataKey: "component"] = "http"
        return Application(
            router: router(requestLogger), server: limits.server(counter: connections),
            configuration: .init(address: .hostname(host, port: port), serverName: serverName), logger: logger
        )
    }

    /// The body of a JSON request: 415 unless `Content-Type` is `application/json`, 413 over `limit` bytes.
    package static func jsonBody(of request: Request, upTo limit: Int) async throws -> ByteBuffer {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmed.lowercased()
        guard contentType == "application/json" else {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                "Content-Type must be application/json (got \(request.headers[.contentType] ?? "none"))"
            )
        }
        var request = request
        return try await collectBody(of: &request, upTo: limit)
    }

    /// The whole body of `request` (which keeps it, for whoever reads it next): 413 over `limit` bytes, 408
    /// when it does not arrive within the body timeout — a body sent a byte at a time holds nothing long.
    package static func collectBody(of request: inout Request, upTo limit: Int) async throws -> ByteBuffer {
        let timeout = ConnectionLimits.bodyTimeout
        let original = request
        let collected: (Request, ByteBuffer)? = try await withThrowingTaskGroup(of: (Request, ByteBuffer)?.self) { group in
            group.addTask {
                var request = original
                do {
                    let body = try await request.collectBody(upTo: limit)
                    return (request, body)
                } catch {
                    throw APIError(.contentTooLarge, code: "body_too_large", "the request body is larger than \(limit) bytes (--max-body)")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let (collectedRequest, body) = collected else {
            throw APIError(
                .requestTimeout, code: "body_timeout",
                "the request body did not arrive within \(DecimalFormat.shortest(timeout.inSeconds)) s"
            )
        }
        request = collectedRequest
        return body
    }

    /// A `200` JSON answer.
    package static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Raises the drain flag when graceful shutdown begins.
package struct DrainService: Service {
    package let state: ServerState

    package func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
    }
}

extension Router where Context == SondeRequestContext {
    package typealias Handler = @Sendable (Request, SondeRequestContext) async throws -> Response

    /// The request log, JSON errors, the drain and authentication (`openPaths` need no token), in that order.
    package func addStandardMiddleware(
        logger: Logger, state: ServerState, metrics: AgentMetrics, token: String?, maxBody: Int,
        openPaths: @escaping @Sendable (String) -> Bool
    ) {
        add(middleware: RequestLogMiddleware(logger: logger, state: state, metrics: metrics))
        add(middleware: ErrorMiddleware(metrics: metrics))
        add(middleware: DrainMiddleware(state: state))
        add(middleware: AuthenticationMiddleware(token: token, maxBody: maxBody, openPaths: openPaths))
    }

    /// `GET /metrics`, `/healthz`, `/readyz` (503 once draining) and `/openapi.json` (the document as given).
    package func addOperationalRoutes(state: ServerState, metrics: AgentMetrics, openAPI: @escaping @Sendable () -> String) {
        route(
            "/metrics",
            [
                .get: { _, _ in
                    Response(
                        status: .ok, headers: [.contentType: MetricExposition.contentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
                }
            ])
        route("/healthz", [.get: { _, _ in HTTPService.json(#"{"status":"ok"}"#) }])
        route(
            "/readyz",
            [
                .get: { _, _ in
                    if state.isDraining { throw APIError.shuttingDown }
                    return HTTPService.json(#"{"status":"ready"}"#)
                }
            ])
        route("/openapi.json", [.get: { _, _ in HTTPService.json(openAPI()) }])
    }

    /// Registers `handlers` on `path` and answers every other common method with 405 and `Allow`.
    package func route(_ path: String, _ handlers: [HTTPRequest.Method: Handler]) {
        let allowed = handlers.keys.sorted { $0.rawValue < $1.rawValue }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
            if let handler = handlers[method] {
                on(RouterPath(path), method: method, use: handler)
            } else {
                on(RouterPath(path), method: method) { request, _ -> Response in
                    throw APIError.methodNotAllowed(request.method, path: request.uri.path, allowed: allowed)
                }
            }
        }
    }
}
