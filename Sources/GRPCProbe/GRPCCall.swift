import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOTLS
import SondeCore
import SondeNIO
import SondeTLS
import Synchronization

/// One `grpc.health.v1.Health/Check` call on a fresh connection (never pooled, so each check is measured whole):
/// connect, TLS if asked (ALPN `h2` required, as gRPC requires it), HTTP/2 — by prior knowledge in plaintext — one
/// stream, the request, the response and its trailers, all before the deadline.
enum GRPCCall {
    struct Request: Sendable {
        var address: IPAddress
        var port: UInt16
        /// `:authority`: the target as written (host and port).
        var authority: String
        var service: String
        /// Extra request metadata (`Name: value`), blackbox's `metadata`.
        var metadata: [(name: String, value: String)]
        var connectTimeout: Duration
        /// The call ends by then, answered or not.
        var deadline: ContinuousClock.Instant
        var tls: TLSSetup?
    }

    /// How a check ended.
    enum Outcome: String, Sendable, Codable {
        /// The server answered `SERVING`.
        case serving
        /// The server answered with another status (`NOT_SERVING`, `UNKNOWN`, `SERVICE_UNKNOWN`).
        case notServing = "not_serving"
        /// The call ended with a gRPC status other than OK (e.g. `NOT_FOUND`: the server does not know the service).
        case grpcError = "grpc_error"
        case refused, timeout, unreachable
        /// The certificate is not trusted (without `-k`), or the handshake failed.
        case tls
        /// Something answered, but not gRPC over HTTP/2.
        case badResponse = "bad_response"
        case closed, error
    }

    struct Result: Sendable {
        var outcome: Outcome
        /// The gRPC status code (blackbox's `probe_grpc_status_code`): the server's, or the one a gRPC client gives a
        /// failed call (14 UNAVAILABLE when nothing answered, 4 DEADLINE_EXCEEDED on timeout).
        var code: Int
        var servingStatus: Int?
        /// `grpc-message`, or why the call failed.
        var message: String?
        var httpStatus: Int?
        var connectTime: Duration?
        var tlsTime: Duration?
        /// Connect to the end of the answer: blackbox's `check` phase.
        var checkTime: Duration
        var tls: TLSFacts?
    }

    private typealias Multiplexer = NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    private typealias StreamChannel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    static let path = "/grpc.health.v1.Health/Check"

    static func run(_ request: Request) async -> Result {
        let start = ContinuousClock.now
        var result = Result(outcome: .error, code: GRPCStatus.unavailable, checkTime: .zero)
        func finished(_ outcome: Outcome, code: Int, _ message: String?) -> Result {
            result.outcome = outcome
            result.code = code
            result.message = message
            result.checkTime = .now - start
            return result
        }
        let channel: any Channel
        let negotiated: EventLoopFuture<Multiplexer?>
        let handshakeBox = Mutex<TLSHandshake?>(nil)
        let protocolErrors = ProtocolErrors()
        do {
            let timeout = min(request.connectTimeout, max(request.deadline - .now, .milliseconds(1)))
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(timeout.inNanoseconds))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            let address = try SocketAddress(ipAddress: request.address.description, port: Int(request.port))
            let tls = request.tls
            (negotiated, channel) = try await bootstrap.connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let tls else {
                        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) {
                            $0.eventLoop.makeSucceededVoidFuture()
                        }
                        try channel.pipeline.syncOperations.addHandler(protocolErrors)
                        return (channel.eventLoop.makeSucceededFuture(Optional(multiplexer)), channel)
                    }
                    let handshake = try TLSHandshake.add(tls, to: channel)
                    handshakeBox.withLock { $0 = handshake }
                    let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Multiplexer?> { result, channel in
                        channel.eventLoop.makeCompletedFuture {
                            guard case .negotiated("h2") = result else { return nil }
                            // Streams the server opens are refused: nothing is initialised for them.
                            let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) {
                                $0.eventLoop.makeSucceededVoidFuture()
                            }
                            try channel.pipeline.syncOperations.addHandler(protocolErrors)
                            return multiplexer
                        }
                    }
                    try channel.pipeline.syncOperations.addHandler(negotiation)
                    return (negotiation.protocolNegotiationResult, channel)
                }
            }
        } catch {
            let (outcome, code, message) = connectFailure(error, request: request)
            return finished(outcome, code: code, message)
        }
        result.connectTime = .now - start
        let timedOut = Atomic(false)
        let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(max(request.deadline - .now, .zero).inNanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        let hint = request.tls == nil ? "a gRPC server here? a TLS one needs --tls" : "a gRPC server here?"
        let answered = await withTaskCancellationHandler {
            if let handshake = handshakeBox.withLock({ $0 }) {
                let verdict = await handshake.verdict()
                result.tls = verdict.facts
                if let connected = result.connectTime, let done = handshake.completedAt { result.tlsTime = done - (start + connected) }
                if verdict.noApplicationProtocol {
                    return finished(
                        .badResponse, code: GRPCStatus.unavailable,
                        "the server does not speak HTTP/2 (h2 by ALPN), which gRPC needs: \(verdict.refusal ?? "")")
                }
                if let refusal = verdict.refusal { return finished(.tls, code: GRPCStatus.unavailable, refusal) }
            }
            do {
                guard let multiplexer = try await negotiated.get() else {
                    return finished(
                        .badResponse, code: GRPCStatus.unavailable,
                        "the server did not choose HTTP/2 by ALPN (h2), which gRPC needs (ALPN: \(result.tls?.alpn ?? "none"))")
                }
                let stream = try await multiplexer.openStream { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(
                            HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: request.tls == nil ? .http : .https))
                        return try StreamChannel(wrappingChannelSynchronously: stream)
                    }
                }
                let answer = try await call(over: stream, request)
                if answer.outcome == .closed, let broken = protocolErrors.first {
                    return finished(
                        .badResponse, code: GRPCStatus.unavailable, "the answer is not HTTP/2 (\(hint)): \(broken)")
                }
                result.httpStatus = answer.httpStatus
                return finished(answer.outcome, code: answer.code, answer.message).with(serving: answer.serving)
            } catch {
                if let malformed = error as? GRPCHealthMessage.Malformed {
                    return finished(.badResponse, code: GRPCStatus.internal, malformed.description)
                }
                if let broken = protocolErrors.first {
                    return finished(
                        .badResponse, code: GRPCStatus.unavailable, "the answer is not HTTP/2 (\(hint)): \(broken)")
                }
                return finished(
                    .closed, code: GRPCStatus.unavailable,
                    "the connection broke before a gRPC answer (\(hint)): \(error)")
            }
        } onCancel: {
            channel.close(promise: nil)
        }
        // The deadline closes the channel: whatever broke after it, it was the timeout.
        guard timedOut.load(ordering: .relaxed), ![.serving, .notServing, .grpcError].contains(answered.outcome) else { return answered }
        var late = answered
        late.outcome = .timeout
        late.code = GRPCStatus.deadlineExceeded
        late.message = "no complete answer within the timeout (-m/--max-time)"
        return late
    }

    private struct Answer {
        var outcome: Outcome
        var code: Int
        var message: String?
        var httpStatus: Int?
        var serving: Int?
    }

    private static func call(over stream: StreamChannel, _ request: Request) async throws -> Answer {
        var headers = HTTPHeaders([
            ("Host", request.authority), ("Content-Type", "application/grpc"), ("TE", "trailers"), ("User-Agent", "sonde-grpc"),
        ])
        let remaining = max(request.deadline - .now, .milliseconds(1))
        headers.add(name: "grpc-timeout", value: "\(max(1, remaining.inNanoseconds / 1_000_000))m")
        for item in request.metadata { headers.add(name: item.name, value: item.value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: [
                .head(head), .body(.byteBuffer(ByteBuffer(bytes: GRPCHealthMessage.request(service: request.service)))), .end(nil),
            ])
            var status: Int?
            var responseHeaders = HTTPHeaders()
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let received):
                    status = Int(received.status.code)
                    responseHeaders = received.headers
                case .body(let bytes):
                    body += bytes.readableBytesView
                    guard body.count <= GRPCHealthMessage.maxResponseBytes + 5 else {
                        throw GRPCHealthMessage.Malformed(
                            description: "the response is longer than \(GRPCHealthMessage.maxResponseBytes) bytes: not a health answer")
                    }
                case .end(let trailers):
                    return answer(status: status, headers: responseHeaders, trailers: trailers, body: body)
                }
            }
            return Answer(outcome: .closed, code: GRPCStatus.unavailable, message: "the server closed the stream before the end of the answer")
        }
    }

    /// The call's outcome from the response head, its trailers (or a trailers-only answer's head) and body.
    private static func answer(status: Int?, headers: HTTPHeaders, trailers: HTTPHeaders?, body: [UInt8]) -> Answer {
        let httpStatus = status ?? 0
        guard httpStatus == 200 else {
            return Answer(
                outcome: .badResponse, code: GRPCStatus.fromHTTP(httpStatus), message: "HTTP status \(httpStatus), not a gRPC answer",
                httpStatus: httpStatus)
        }
        let final = trailers ?? headers
        guard let codeText = final.first(name: "grpc-status") ?? headers.first(name: "grpc-status"), let code = Int(codeText) else {
            return Answer(outcome: .badResponse, code: GRPCStatus.internal, message: "the answer has no grpc-status", httpStatus: httpStatus)
        }
        let message = (final.first(name: "grpc-message") ?? headers.first(name: "grpc-message")).map { $0.percentDecodedGRPC }.flatMap {
            $0.isEmpty ? nil : $0
        }
        guard code == GRPCStatus.ok else {
            return Answer(outcome: .grpcError, code: code, message: message, httpStatus: httpStatus)
        }
        do {
            let serving = try GRPCHealthMessage.servingStatus(inBody: body)
            return Answer(
                outcome: serving == 1 ? .serving : .notServing, code: code, message: message, httpStatus: httpStatus, serving: serving)
        } catch {
            return Answer(outcome: .badResponse, code: GRPCStatus.internal, message: error.description, httpStatus: httpStatus)
        }
    }

    private static func connectFailure(_ error: any Error, request: Request) -> (Outcome, Int, String) {
        let failure = ConnectFailure(error, address: request.address, port: request.port)
        switch failure.kind {
        case .refused: return (.refused, GRPCStatus.unavailable, failure.message)
        case .timeout: return (.timeout, GRPCStatus.deadlineExceeded, failure.message)
        case .unreachable: return (.unreachable, GRPCStatus.unavailable, failure.message)
        case .error: return (.error, GRPCStatus.unavailable, failure.message)
        }
    }
}

extension GRPCCall.Result {
    fileprivate func with(serving: Int?) -> GRPCCall.Result {
        var copy = self
        copy.servingStatus = serving
        return copy
    }
}

extension String {
    /// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec); a malformed one is shown as sent.
    fileprivate var percentDecodedGRPC: String { removingPercentEncodingLeniently() }

    private func removingPercentEncodingLeniently() -> String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Last in the connection's pipeline: an HTTP/2 protocol error (what a server that is not HTTP/2 provokes) closes
/// the connection at once, and is kept to say so, instead of the call waiting for its deadline.
private final class ProtocolErrors: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    private let recorded = Mutex<String?>(nil)

    var first: String? { recorded.withLock { $0 } }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        recorded.withLock { $0 = $0 ?? "\(error)" }
        context.close(promise: nil)
    }
}
