import Hummingbird
public import Logging

/// One log line per request, written when the response body is complete (streams included): method,
/// path, status, duration, client and, for probes, the kind.
/// It also counts requests in flight, for the memory trimmer and `/v1/status`.
package struct RequestLogMiddleware: RouterMiddleware {
    package typealias Context = SondeRequestContext
    package let logger: Logger
    package let state: ServerState
    package let metrics: AgentMetrics

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        state.requestStarted()
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            state.requestFinished()
            throw error
        }
        let status = response.status.code
        metrics.request(route: context.endpointPath ?? "unknown", status: status)
        let client = context.clientAddress
        let method = request.method.rawValue
        let path = request.uri.path
        let logger = self.logger
        let state = self.state
        let body = response.body
        // A body already in hand is logged now and left as it is, so the server writes it in one go;
        // only streamed bodies are wrapped to log when they end.
        if body.contentLength != nil {
            state.requestFinished()
            Self.log(logger, method: method, path: path, status: status, client: client, since: start, outcome: "complete")
            return response
        }
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            var outcome = "complete"
            defer {
                state.requestFinished()
                Self.log(logger, method: method, path: path, status: status, client: client, since: start, outcome: outcome)
            }
            do {
                try await body.write(writer)
            } catch {
                outcome = "aborted"
                throw error
            }
        }
        return response
    }

    private static func log(
        _ logger: Logger, method: String, path: String, status: Int, client: String, since start: ContinuousClock.Instant,
        outcome: String
    ) {
        guard logger.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "method": "\(method)", "path": "\(path)", "status": "\(status)", "client": "\(client)",
                "durationMs": "\((milliseconds * 1000).rounded() / 1000)", "body": "\(outcome)",
            ]
        )
    }
}
