import HTTPTypes
import Hummingbird
import NIOCore
import SondeAgentClient
import SondeAuth
import SondeCore
import SondeHTTP

/// Forwards one request to the sidecar at `srcIP` and streams its answer back unchanged, or says in the API's
/// error shape why it could not: 400/403 for a `srcIP` it may not call, 502 when the sidecar is absent,
/// refuses or does not speak its API, 504 when it is too slow.
struct AgentForwarder: Sendable {
    let configuration: GatewayConfiguration
    let metrics: AgentMetrics
    let policy: AddressPolicy
    let limiter: ConcurrencyLimiter

    init(configuration: GatewayConfiguration, metrics: AgentMetrics) {
        self.configuration = configuration
        self.metrics = metrics
        self.policy = AddressPolicy(allow: configuration.agents.map { .init($0, reason: "--agents") }, deny: configuration.neverCalled)
        self.limiter = ConcurrencyLimiter(maxTotal: configuration.maxConcurrent, maxPerClient: configuration.maxConcurrentPerClient)
    }

    /// The most of an answer that is read whole to be rewritten.
    static let maxRewrittenBytes = 1 << 20

    /// The sidecar headers passed back to the caller; the rest (framing, `Server`, dates) are the gateway's own.
    private static let passedBack: [(String, HTTPField.Name)] = [
        ("content-type", .contentType), ("retry-after", .retryAfter), ("allow", .allow), ("cache-control", .cacheControl),
    ]

    /// The statuses a Sonde sidecar answers with; anything else (1xx, 101, redirects…) is not relayed.
    static let relayedStatuses: Set<Int> = [200, 400, 403, 404, 405, 406, 413, 415, 429, 500, 502, 503, 504]

    /// The content types a Sonde sidecar writes; anything else (`text/html`…) is not relayed.
    static func isRelayedContentType(_ value: String) -> Bool {
        let type = value.split(separator: ";").first?.trimmed.lowercased() ?? ""
        return ["application/json", "application/x-ndjson", "text/event-stream", "text/plain"].contains(type)
    }

    /// - Parameter rewrite: for an answer to be changed before it is passed on (a listing): gets the whole `200`
    ///   body (at most 1 MiB) and returns what to send, or `nil` when it is not what a sidecar sends.
    func forward(
        to sourceText: String?, method: String, path: String, request: Request, body: [UInt8] = [], client: String,
        connection: ResponseGuard = .none, rewrite: (@Sendable ([UInt8]) -> [UInt8]?)? = nil
    ) async throws -> Response {
        let agent = try agentAddress(sourceText)
        let permit = try limiter.acquire(client: client)
        var headers: [(String, String)] = [("Accept", request.headers[.accept] ?? "application/json")]
        if let token = configuration.agentToken {
            switch configuration.agentAuthentication {
            case .signed:
                let authorization = RequestSignature.authorization(
                    key: token, podAddress: agent.host, method: method, target: agent.apiBase + path, body: body,
                    time: RequestSignature.now(), nonce: RequestSignature.nonce()
                )
                headers.append(("Authorization", authorization))
            case .bearer:
                headers.append(("Authorization", "Bearer \(token)"))
            }
        }
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        let answer: AgentClient.Response
        do {
            answer = try await AgentClient.send(
                .init(method: method, path: path, headers: headers, body: body), to: agent,
                connectTimeout: configuration.connectTimeout, timeout: configuration.timeout
            )
        } catch {
            permit.release()
            metrics.forwarded(outcome: error.kind == .badResponse ? "bad_response" : error.kind.rawValue)
            let status: HTTPResponse.Status = error.kind == .timeout ? .gatewayTimeout : .badGateway
            throw APIError(status, code: "agent_\(error.kind == .badResponse ? "bad_response" : error.kind.rawValue)", "the sidecar: \(error)")
        }
        if answer.status == 401 {
            permit.release()
            metrics.forwarded(outcome: "auth_failed")
            throw APIError(
                .badGateway, code: "agent_auth_failed",
                "the sidecar at \(agent) refused this gateway's token (--agent-auth \(configuration.agentAuthentication.rawValue)): check "
                    + "--agent-token-file (or SONDE_AGENT_TOKEN) against the sidecar's token, and that the clocks agree within \(RequestSignature.maxSkew) s"
            )
        }
        guard Self.relayedStatuses.contains(answer.status), let contentType = answer.header("content-type"),
            Self.isRelayedContentType(contentType)
        else {
            permit.release()
            metrics.forwarded(outcome: "bad_response")
            throw APIError(
                .badGateway, code: "agent_bad_response",
                "the peer at \(agent) is not a Sonde sidecar: it answered status \(answer.status) with content type "
                    + "'\(answer.header("content-type") ?? "none")'; nothing of it is passed on"
            )
        }
        var responseHeaders = HTTPFields()
        for (name, field) in Self.passedBack {
            if let value = answer.header(name) { responseHeaders[field] = value }
        }
        if let rewrite, answer.status == 200 {
            defer { permit.release() }
            var whole: [UInt8] = []
            do {
                for try await piece in answer.body {
                    whole += piece.readableBytesView
                    answer.consumed(piece.readableBytes)
                    guard whole.count <= Self.maxRewrittenBytes else {
                        throw AgentClientError(.badResponse, "its answer exceeds \(Self.maxRewrittenBytes) bytes")
                    }
                }
            } catch {
                metrics.forwarded(outcome: "bad_response")
                throw APIError(.badGateway, code: "agent_bad_response", "the sidecar at \(agent): \(error)")
            }
            guard let rewritten = rewrite(whole) else {
                metrics.forwarded(outcome: "bad_response")
                throw APIError(
                    .badGateway, code: "agent_bad_response", "the peer at \(agent) is not a Sonde sidecar: its answer is not a probe listing")
            }
            metrics.forwarded(outcome: "ok")
            return Response(status: .ok, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(bytes: rewritten)))
        }
        metrics.forwarded(outcome: "ok")
        let length = answer.header("content-length").flatMap(Int.init)
        let stream = answer.body
        return Response(
            status: .init(code: answer.status), headers: responseHeaders,
            body: ResponseBody(contentLength: length) { writer in
                defer { permit.release() }
                do {
                    try await connection.writing(by: .now + configuration.timeout + ResponseGuard.writeGrace) {
                        for try await piece in stream {
                            try await writer.write(piece)
                            answer.consumed(piece.readableBytes)
                        }
                    }
                } catch let failure as AgentClientError {
                    // The head is sent: all that can be said now is that the answer is cut short.
                    metrics.forwarded(outcome: "broken_stream")
                    throw failure
                }
                try await writer.finish(nil)
            }
        )
    }

    /// The sidecar at `srcIP`, if this gateway may call it.
    func agentAddress(_ text: String?) throws(APIError) -> AgentAddress {
        let text = text.flatMap(\.percentDecoded) ?? ""
        guard let address = IPAddress(text), !text.contains("%") else {
            throw APIError(
                .badRequest, code: "invalid_parameter",
                "invalid srcIP '\(text)': expected the pod's IP address (IPv4 or IPv6, no host names), e.g. 10.244.1.7", field: "srcIP"
            )
        }
        if let refusal = policy.refusal(of: address) {
            let why =
                refusal.reason == "not in the allow list"
                ? "it is outside the agent networks (--agents \(configuration.agents.map(\.description).joined(separator: ",")))"
                : "it is in \(refusal)"
            throw APIError(.forbidden, code: "agent_denied", "srcIP \(address) is refused: \(why); this gateway calls sidecars only", field: "srcIP")
        }
        return AgentAddress(host: address.description, port: configuration.agentPort)
    }

    /// A probe kind as a path segment: lower-case letters, digits, `-` and `_`; anything else names no probe.
    static func kind(_ text: String?) throws(APIError) -> String {
        guard let text, ProbeRestrictions.isName(text) else {
            throw APIError.notFound("no probe '\(text ?? "")': GET /v1/agents/{srcIP}/probes lists the sidecar's probes")
        }
        return text
    }

    /// `?name=value&…`, every byte but the unreserved ones percent-encoded; empty for no items.
    static func query(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        return "?" + items.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    private static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%\(hexDigits[Int(byte >> 4)])\(hexDigits[Int(byte & 0x0F)])"
            }
        }
        return result
    }
}
