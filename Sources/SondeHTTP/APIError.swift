public import HTTPTypes
public import Hummingbird
import SondeCore

/// A request the API refuses, as `{"error": {"code": "…", "message": "…"}}` with its HTTP status.
///
/// The message names the field and what is allowed, so a caller can fix the request from it alone.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// The refused field, when the error is about one.
    public let field: String?
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`, `Allow`).
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    /// The status a probe's refusal maps to: bad input is 400, a denied target 403, no socket 503, an external
    /// probe that failed 502.
    public init(_ error: ProbeError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .targetDenied: .forbidden
            case .socketUnavailable: .serviceUnavailable
            case .probeFailed: .badGateway
            default: .badRequest
            }
        self.init(status, code: error.code.rawValue, error.message, field: error.parameter?.parameter)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = ErrorBody(error: .init(code: code, message: message, field: field))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: SondeJSON.line(body) + "\n")))
    }

    package struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var field: String?
        }
        var error: Detail
    }
}

extension APIError {
    package static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }

    package static func methodNotAllowed(_ method: HTTPRequest.Method, path: String, allowed: [HTTPRequest.Method]) -> APIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(
            .methodNotAllowed, code: "method_not_allowed", "\(method.rawValue) is not allowed on \(path): use \(list)",
            headers: [.allow: list]
        )
    }

    package static func overLimit(_ message: String, retryAfter seconds: Int = 1) -> APIError {
        APIError(.tooManyRequests, code: "over_limit", message, headers: [.retryAfter: String(seconds)])
    }

    package static let shuttingDown = APIError(
        .serviceUnavailable, code: "shutting_down", "this Sonde is shutting down: retry against another instance",
        headers: [.retryAfter: "1", .connection: "close"]
    )
}
