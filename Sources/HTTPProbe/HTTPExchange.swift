import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import SondeCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One request on a fresh connection (never pooled, so connect is always measured), timed on the event loop:
/// connected, request written to the socket, first response byte read, end of the response.
enum HTTPExchange {
    struct Request: Sendable {
        var target: HTTPTarget
        var address: IPAddress
        var method: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var connectTimeout: Duration
        /// The whole exchange ends by then, answered or not.
        var deadline: ContinuousClock.Instant
        var maxBody: Int
        /// How many body bytes to keep (for matching); the rest is counted and discarded.
        var keptBody: Int
        /// For https: the client context, the name to send and how the chain is judged.
        var tls: TLSSetup?
    }

    /// What an https exchange needs besides the request.
    struct TLSSetup: Sendable {
        var context: NIOSSLContext
        var serverName: String?
        var inspector: TLSInspector
        var insecure: Bool
    }

    /// What the handshake showed, filled in on the event loop.
    final class TLSRecord: Sendable {
        private let state = Mutex<(facts: TLSFacts?, version: String?, alpn: String?)>((nil, nil, nil))

        var facts: TLSFacts? {
            state.withLock { state in
                guard var facts = state.facts else { return nil }
                facts.version = state.version
                facts.alpn = state.alpn
                return facts
            }
        }

        func record(_ facts: TLSFacts) { state.withLock { $0.facts = facts } }

        func record(version: String?, alpn: String?) {
            state.withLock { state in
                state.version = version
                state.alpn = alpn
            }
        }
    }

    struct Response: Sendable {
        var version: String
        var status: Int
        var reason: String
        var headers: [(name: String, value: String)]
        var bodyBytes = 0
        var body: [UInt8] = []

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// Where and how an exchange failed.
    struct Failure: Error, Sendable {
        enum Outcome: String, Sendable, Codable {
            /// Nothing listens there (a reset).
            case refused
            /// No answer in time: filtered, or the server is too slow.
            case timeout
            /// An ICMP error: no route to the host or network.
            case unreachable
            /// The server closed the connection before a complete answer (nginx's 444, a crash).
            case closed
            /// The answer is not HTTP/1.x.
            case badResponse = "bad_response"
            /// The body is longer than the cap.
            case tooLarge = "too_large"
            /// The TLS handshake failed: an untrusted certificate (without `-k`), no common version, not TLS.
            case tls
            case error
        }
        var outcome: Outcome
        var message: String
    }

    /// Event-loop instants of one exchange.
    struct Timings: Sendable {
        var connectStart: ContinuousClock.Instant
        var connected: ContinuousClock.Instant?
        var tlsDone: ContinuousClock.Instant?
        var requestSent: ContinuousClock.Instant?
        var firstByte: ContinuousClock.Instant?
        var end: ContinuousClock.Instant?
    }

    static func run(_ request: Request, tlsRecord: TLSRecord = TLSRecord()) async -> (Timings, Result<Response, Failure>) {
        var timings = Timings(connectStart: .now)
        let clock = ExchangeClock()
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            let timeout = min(request.connectTimeout, max(request.deadline - .now, .milliseconds(1)))
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(timeout.inNanoseconds))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            let address = try SocketAddress(ipAddress: request.address.description, port: Int(request.target.port))
            let tls = request.tls
            channel = try await bootstrap.connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    var encryption: NIOSSLClientHandler?
                    if let tls {
                        let handler = try NIOSSLClientHandler(
                            context: tls.context, serverHostname: tls.serverName,
                            customVerificationCallbackWithMetadata: { certificates, promise in
                                // Kept, and judged once the handshake is done (before a byte of the request is
                                // sent), so the tls phase is the network's and the server's, not Sonde's checks.
                                clock.presented(certificates.compactMap { try? $0.toDERBytes() })
                                promise.succeed(.certificateVerified(VerificationMetadata(nil)))
                            })
                        try pipeline.addHandler(handler)
                        encryption = handler
                        clock.expectHandshake(channel.eventLoop.makePromise(of: Void.self))
                    }
                    try pipeline.addHTTPClientHandlers()
                    let wrapped = try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    // Last in, and on the plaintext side of TLS: its clock starts when nothing but the connect is left
                    // to do, and it sees the request and the response, not the handshake.
                    try pipeline.addHandler(clock, position: encryption.map { .after($0) } ?? .first)
                    return wrapped
                }
            }
            let instants = clock.instants
            timings.connectStart = instants.connectStart ?? timings.connectStart
            timings.connected = instants.connected ?? .now
        } catch {
            return (timings, .failure(connectFailure(error, request: request)))
        }
        let underlying = channel.channel
        let remaining = request.deadline - .now
        let timedOut = Atomic(false)
        let deadline = underlying.eventLoop.scheduleTask(in: .nanoseconds(max(remaining, .zero).inNanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            underlying.close(promise: nil)
        }
        defer { deadline.cancel() }
        let result: Result<Response, Failure> = await withTaskCancellationHandler {
            if let tls = request.tls, let refusal = await secure(channel, tls: tls, clock: clock, record: tlsRecord) {
                try? await channel.executeThenClose { _, _ in }
                return .failure(refusal)
            }
            return await exchange(over: channel, request)
        } onCancel: {
            underlying.close(promise: nil)
        }
        let instants = clock.instants
        timings.tlsDone = instants.tlsDone
        timings.requestSent = instants.requestSent
        timings.firstByte = instants.firstByte
        timings.end = instants.end
        if case .failure(let failure) = result, timedOut.load(ordering: .relaxed) {
            let stage =
                request.tls != nil && timings.tlsDone == nil
                ? "during the TLS handshake" : timings.firstByte == nil ? "waiting for the response" : "reading the response"
            return (timings, .failure(Failure(outcome: .timeout, message: "timed out \(stage) (\(failure.outcome.rawValue))")))
        }
        return (timings, result)
    }

    /// Waits for the handshake, then judges the chain the server presented; the refusal, if the request must not
    /// be sent (an untrusted certificate without `-k`, a failed handshake).
    private static func secure(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, tls: TLSSetup, clock: ExchangeClock, record: TLSRecord
    ) async -> Failure? {
        let handshake: Result<Void, any Error>
        do {
            try await clock.handshake?.futureResult.get()
            handshake = .success(())
        } catch {
            handshake = .failure(error)
        }
        let instants = clock.instants
        record.record(version: instants.tlsVersion, alpn: instants.alpn)
        let presented = instants.presented
        if !presented.isEmpty {
            let (facts, verified, problems) = await tls.inspector.inspect(presented)
            record.record(TLSFacts(serverName: tls.serverName, presented: facts, verified: verified, problems: problems, insecure: tls.insecure))
            if !problems.isEmpty, !tls.insecure {
                return Failure(outcome: .tls, message: "the certificate is not trusted: \(problems.joined(separator: "; ")) (-k to go on anyway)")
            }
        }
        if case .failure(let error) = handshake {
            return Failure(outcome: .tls, message: "the TLS handshake failed: \(error) (no common version or cipher, or no TLS server here)")
        }
        return nil
    }

    private static func exchange(
        over channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, _ request: Request
    ) async -> Result<Response, Failure> {
        var headers = HTTPHeaders([("Host", request.target.hostHeader)])
        if !request.headers.contains(where: { $0.name.lowercased() == "user-agent" }) { headers.add(name: "User-Agent", value: "sonde") }
        if !request.headers.contains(where: { $0.name.lowercased() == "accept" }) { headers.add(name: "Accept", value: "*/*") }
        for header in request.headers { headers.add(name: header.name, value: header.value) }
        headers.add(name: "Connection", value: "close")
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            headers.add(name: "Content-Length", value: String(request.body.count))
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: request.target.path, headers: headers)
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if !request.body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: request.body)))) }
                parts.append(.end(nil))
                // A server may answer and close before it reads the whole request: the answer counts.
                try? await outbound.write(contentsOf: parts)
                var response: Response?
                for try await part in inbound {
                    switch part {
                    case .head(let received):
                        response = Response(
                            version: "HTTP/\(received.version.major).\(received.version.minor)", status: Int(received.status.code),
                            reason: received.status.reasonPhrase, headers: received.headers.map { ($0.name, $0.value) })
                    case .body(let bytes):
                        guard var current = response else { continue }
                        current.bodyBytes += bytes.readableBytes
                        guard current.bodyBytes <= request.maxBody else {
                            return .failure(
                                Failure(outcome: .tooLarge, message: "the body is longer than the limit of \(request.maxBody) bytes (--max-body)"))
                        }
                        let room = request.keptBody - current.body.count
                        if room > 0 { current.body += bytes.readableBytesView.prefix(room) }
                        response = current
                    case .end:
                        if let response { return .success(response) }
                    }
                }
                return .failure(
                    Failure(
                        outcome: .closed,
                        message: response == nil
                            ? "the server closed the connection without a response" : "the server closed the connection before the end of the body"))
            }
        } catch let error as HTTPParserError {
            return .failure(Failure(outcome: .badResponse, message: "the answer is not HTTP/1.x (\(error))"))
        } catch {
            return .failure(Failure(outcome: .closed, message: "the connection broke: \(error)"))
        }
    }

    private static func connectFailure(_ error: any Error, request: Request) -> Failure {
        let endpoint = request.address.endpoint(port: request.target.port)
        if let error = error as? ChannelError, case .connectTimeout = error {
            return Failure(outcome: .timeout, message: "no answer from \(endpoint) within the connect timeout (filtered?)")
        }
        let code =
            (error as? IOError)?.errnoCode ?? (error as? NIOConnectionError)?.connectionErrors.first.flatMap { ($0.error as? IOError)?.errnoCode }
        switch code {
        case ECONNREFUSED?: return Failure(outcome: .refused, message: "connection refused by \(endpoint)")
        case EHOSTUNREACH?, ENETUNREACH?:
            return Failure(outcome: .unreachable, message: "cannot reach \(endpoint): \(ErrorNumber.message(code ?? 0))")
        case let code?:
            return Failure(outcome: .error, message: "cannot connect to \(endpoint): \(ErrorNumber.message(code)) (\(ErrorNumber.name(code)))")
        case nil: return Failure(outcome: .error, message: "cannot connect to \(endpoint): \(error)")
        }
    }
}

/// The first handler of the pipeline, next to the socket: when the connect began and ended (on the event loop, so
/// the group's start-up is not counted), when the request's last byte was written, when the first response byte
/// and the last arrived.
private final class ExchangeClock: ChannelDuplexHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Instants {
        /// When the handler joined the pipeline: the channel is registered and about to connect.
        var connectStart: ContinuousClock.Instant?
        var connected: ContinuousClock.Instant?
        var tlsDone: ContinuousClock.Instant?
        var tlsVersion: String?
        var alpn: String?
        /// The chain the server presented (DER, leaf first).
        var presented: [[UInt8]] = []
        var requestSent: ContinuousClock.Instant?
        var firstByte: ContinuousClock.Instant?
        var end: ContinuousClock.Instant?
    }

    private let state = Mutex(Instants())
    private let handshakePromise = Mutex<(promise: EventLoopPromise<Void>?, pending: Bool)>((nil, false))

    var instants: Instants { state.withLock { $0 } }

    /// Completed when the TLS handshake is, failed when the connection ends or errs before.
    var handshake: EventLoopPromise<Void>? { handshakePromise.withLock { $0.promise } }

    func expectHandshake(_ promise: EventLoopPromise<Void>) { handshakePromise.withLock { $0 = (promise, true) } }

    /// Completes the handshake promise once, whatever comes first: the handshake, an error, the end.
    private func completeHandshake(_ result: Result<Void, any Error>) {
        let promise = handshakePromise.withLock { slot -> EventLoopPromise<Void>? in
            guard slot.pending else { return nil }
            slot.pending = false
            return slot.promise
        }
        promise?.completeWith(result)
    }

    func presented(_ chain: [[UInt8]]) { state.withLock { $0.presented = chain } }

    func channelInactive(context: ChannelHandlerContext) {
        completeHandshake(.failure(ChannelError.ioOnClosedChannel))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        completeHandshake(.failure(error))
        context.fireErrorCaught(error)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let now = ContinuousClock.now
        state.withLock { $0.connectStart = now }
    }

    func channelActive(context: ChannelHandlerContext) {
        let now = ContinuousClock.now
        state.withLock { $0.connected = now }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let negotiated)? = event as? TLSUserEvent {
            let now = ContinuousClock.now
            let version = (try? context.pipeline.syncOperations.nioSSL_tlsVersion()).flatMap { $0 }.map(Self.name)
            state.withLock { instants in
                instants.tlsDone = now
                instants.tlsVersion = version
                instants.alpn = negotiated
            }
            completeHandshake(.success(()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    static func name(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: "TLSv1.0"
        case .tlsv11: "TLSv1.1"
        case .tlsv12: "TLSv1.2"
        case .tlsv13: "TLSv1.3"
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = ContinuousClock.now
        state.withLock { instants in
            if instants.firstByte == nil { instants.firstByte = now }
            instants.end = now
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenSuccess { [self] in
            let now = ContinuousClock.now
            state.withLock { $0.requestSent = now }
        }
        written.futureResult.cascade(to: promise)
        context.write(data, promise: written)
    }
}
