public import NIOCore
import NIOHTTP1
import NIOPosix
import SondeCore
import Synchronization

/// One HTTP/1.1 exchange with a Sonde agent, its answer streamed as it arrives: what the remote CLI and the
/// gateway use to run a probe elsewhere. Plain HTTP, one connection per exchange (`Connection: close`).
public enum AgentClient {
    /// A request to an agent; the path is relative to the agent's ``AgentAddress/apiBase``.
    public struct Request: Sendable {
        public var method: String
        /// The path under the API base and the query, e.g. `/probes/ping?target=10.0.0.1`.
        public var path: String
        /// Extra headers (`Accept`, `Authorization`, `Content-Type`); `Host`, `Content-Length` and
        /// `Connection` are set here.
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(method: String, path: String, headers: [(String, String)] = [], body: [UInt8] = []) {
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
        }
    }

    /// The agent's answer: its status and headers at once, its body as it arrives.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(name: String, value: String)]
        /// The body in the pieces it arrived in; ends when the agent ends it, fails if the connection breaks,
        /// the deadline passes or more than ``maxPendingBytes`` wait unread. Dropping it closes the connection.
        public let body: AsyncThrowingStream<ByteBuffer, any Error>
        let pending: PendingBytes

        /// The reader is done with `bytes` of the body (passed on, written out): they no longer count as pending.
        public func consumed(_ bytes: Int) { pending.subtract(bytes) }

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// Sends `request` to `agent` and returns once the answer's head is in.
    ///
    /// - Parameters:
    ///   - connectTimeout: how long the agent may take to accept the connection.
    ///   - timeout: how long the whole exchange may take, body included; the connection is closed then.
    ///   - maxPendingBytes: how much of the body may arrive before the reader has ``Response/consumed(_:)`` it;
    ///     past that the exchange fails, so a reader that stalls costs bounded memory.
    public static func send(
        _ request: Request, to agent: AgentAddress, connectTimeout: Duration = .seconds(3), timeout: Duration,
        maxPendingBytes: Int = 1 << 20
    ) async throws(AgentClientError) -> Response {
        let started = ContinuousClock.now
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await connect(to: agent, timeout: connectTimeout)
        } catch {
            throw AgentClientError(connecting: error, agent: agent, timeout: connectTimeout)
        }
        let remaining = timeout - (ContinuousClock.now - started)
        let head = channel.channel.eventLoop.makePromise(of: HTTPResponseHead.self)
        let (body, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let pending = PendingBytes()
        let underlying = channel.channel
        let deadline = underlying.eventLoop.scheduleTask(in: .nanoseconds(remaining.inNanoseconds)) {
            head.fail(AgentClientError(.timeout, "\(agent) sent no answer within \(DecimalFormat.shortest(timeout.inSeconds)) s"))
            feed.finish(
                throwing: AgentClientError(.timeout, "\(agent) did not finish its answer within \(DecimalFormat.shortest(timeout.inSeconds)) s"))
            underlying.close(promise: nil)
        }
        feed.onTermination = { _ in underlying.close(promise: nil) }

        var headers = HTTPHeaders([("Host", agent.authority), ("Connection", "close"), ("Content-Length", String(request.body.count))])
        headers.add(contentsOf: request.headers)
        let requestHead = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: agent.apiBase + request.path, headers: headers
        )
        // The connection lives as long as the answer is being read, beyond this call: one task owns it.
        Task {
            defer { deadline.cancel() }
            var headSeen = false
            do {
                try await channel.executeThenClose { inbound, outbound in
                    // The whole request in one write. An agent may answer (and, with Connection: close, close) as
                    // soon as it has the head: a failed write must not hide an answer that is already there.
                    var parts: [HTTPClientRequestPart] = [.head(requestHead)]
                    if !request.body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: request.body)))) }
                    parts.append(.end(nil))
                    var writeFailure: (any Error)?
                    do {
                        try await outbound.write(contentsOf: parts)
                    } catch {
                        writeFailure = error
                    }
                    for try await part in inbound {
                        switch part {
                        case .head(let response):
                            headSeen = true
                            head.succeed(response)
                        case .body(let bytes):
                            guard pending.add(bytes.readableBytes) <= maxPendingBytes else {
                                throw AgentClientError(
                                    .badResponse,
                                    "more than \(maxPendingBytes) bytes of the answer from \(agent) waited unread: the reader is too slow"
                                )
                            }
                            feed.yield(bytes)
                        case .end:
                            feed.finish()
                            return
                        }
                    }
                    if let writeFailure, !headSeen { throw writeFailure }
                    throw AgentClientError(.badResponse, "\(agent) closed the connection before the end of its answer")
                }
            } catch {
                let failure =
                    (error as? AgentClientError)
                    ?? AgentClientError(
                        .badResponse, headSeen ? "the connection to \(agent) broke: \(error)" : "\(agent) did not answer in HTTP: \(error)"
                    )
                head.fail(failure)
                feed.finish(throwing: failure)
            }
        }
        let responseHead: HTTPResponseHead
        do {
            responseHead = try await head.futureResult.get()
        } catch {
            throw (error as? AgentClientError) ?? AgentClientError(.badResponse, "\(agent): \(error)")
        }
        return Response(
            status: Int(responseHead.status.code), headers: responseHead.headers.map { ($0.name, $0.value) }, body: body,
            pending: pending
        )
    }

    private static func connect(
        to agent: AgentAddress, timeout: Duration
    ) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(timeout.inNanoseconds))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
        }
        if IPAddress(agent.host) != nil {
            return try await bootstrap.connect(to: try SocketAddress(ipAddress: agent.host, port: Int(agent.port)), channelInitializer: initializer)
        }
        return try await bootstrap.connect(host: agent.host, port: Int(agent.port), channelInitializer: initializer)
    }
}

/// Body bytes received but not yet consumed by the reader.
final class PendingBytes: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds `bytes` and returns the new total.
    func add(_ bytes: Int) -> Int { count.add(bytes, ordering: .relaxed).newValue }

    func subtract(_ bytes: Int) { count.subtract(bytes, ordering: .relaxed) }
}
