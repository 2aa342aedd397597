import Hummingbird

/// Answers 503 to new requests once shutdown has begun, while in-flight probes finish.
struct DrainMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: ServerState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if state.isDraining, request.uri.path != "/healthz" {
            throw APIError.shuttingDown
        }
        return try await next(request, context)
    }
}
