import Hummingbird

/// Answers 503 to new requests once shutdown has begun, while in-flight probes finish.
package struct DrainMiddleware<Context: RequestContext>: RouterMiddleware {
    package let state: ServerState

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if state.isDraining, request.uri.path != "/healthz" {
            throw APIError.shuttingDown
        }
        return try await next(request, context)
    }
}
