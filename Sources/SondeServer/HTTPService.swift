public import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// What Sonde's HTTP faces (the sidecar and the gateway) share: one middleware stack, routes that answer 405
/// with `Allow`, JSON answers, and serving with a drain on SIGTERM.
package enum HTTPService {
    /// Serves `application` until SIGTERM or SIGINT, then drains: `/readyz` fails and new requests get 503 at
    /// once, requests in flight get `shutdownGrace` to finish before they are cancelled.
    package static func serve(
        _ application: some ApplicationProtocol, state: ServerState, shutdownGrace: Duration, logger: Logger
    ) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [
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

    /// A `200` JSON answer.
    package static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Raises the drain flag when graceful shutdown begins.
struct DrainService: Service {
    let state: ServerState

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
    }
}

extension Router where Context == SondeRequestContext {
    package typealias Handler = @Sendable (Request, SondeRequestContext) async throws -> Response

    /// The request log, JSON errors, the drain and authentication (`openPaths` need no token), in that order.
    package func addStandardMiddleware(
        logger: Logger, state: ServerState, metrics: AgentMetrics, token: String?, openPaths: @escaping @Sendable (String) -> Bool
    ) {
        add(middleware: RequestLogMiddleware(logger: logger, state: state, metrics: metrics))
        add(middleware: ErrorMiddleware(metrics: metrics))
        add(middleware: DrainMiddleware(state: state))
        add(middleware: AuthenticationMiddleware(token: token, openPaths: openPaths))
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
