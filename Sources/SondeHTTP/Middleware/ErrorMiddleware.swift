import HTTPTypes
import Hummingbird
public import Logging

/// Turns every error into the API's JSON error shape; anything unexpected becomes a 500 that says nothing
/// of the inside (the detail goes to the log).
/// It also counts refusals by reason for `/metrics`.
package struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package let metrics: AgentMetrics

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            count(error)
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let translated = translate(error, request: request)
            count(translated)
            return try translated.response(from: request, context: context)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return try APIError(.internalServerError, code: "internal_error", "the request failed inside Sonde; see its log")
                .response(from: request, context: context)
        }
    }

    private func count(_ error: APIError) {
        let reason: String? =
            switch error.status {
            case .unauthorized: "auth"
            case .forbidden: "policy"
            case .tooManyRequests: "limit"
            case .serviceUnavailable: "shutting_down"
            default: error.status.code < 500 ? "invalid" : nil
            }
        if let reason { metrics.rejected(reason) }
    }

    /// Hummingbird's own errors (no route, body over the limit, bad framing) in the API's shape.
    private func translate(_ error: any HTTPResponseError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound("no route \(request.method.rawValue) \(request.uri.path): see GET /openapi.json")
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "body_too_large", "the request body is larger than this server accepts")
        default:
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return APIError(error.status, code: error.status.reasonPhrase.lowercased().replacingSpaces, message)
        }
    }
}

extension String {
    fileprivate var replacingSpaces: String { String(map { $0 == " " ? "_" : $0 }) }
}
