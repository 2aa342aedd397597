import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOTLS
import SondeCore
import SondeNIO
import SondeTLS
import Synchronization

/// One request on a fresh connection (never pooled, so connect is always measured), timed on the event loop:
/// connected, request written to the socket, first response byte read, end of the response.
enum HTTPExchange {
    struct Request: Sendable {
        var target: HTTPTarget
        var address: IPAddress
        /// Where the connection goes: the URL's port, or `--connect-to`'s.
        var port: UInt16
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
        /// Whether TLS offers `h2` by ALPN (HTTP/2 when the server picks it, HTTP/1.1 otherwise).
        var offersHTTP2 = false
        /// How a final answer's body is decoded; a redirect that will be followed is not (its body is not the answer).
        var decoding: HTTPPlan.BodyDecoding = .none
        var followsRedirects = false
    }

    private typealias HTTP1Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    private typealias Negotiated = NIONegotiatedHTTPVersion<HTTP1Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Void>>

    /// The connection as the connect leaves it.
    private enum Connection: Sendable {
        case http1(HTTP1Channel)
        /// TLS offering h2: what ALPN picks, known once the handshake is done.
        case negotiating(EventLoopFuture<Negotiated>, any Channel)

        var channel: any Channel {
            switch self {
            case .http1(let channel): channel.channel
            case .negotiating(_, let channel): channel
            }
        }
    }

    /// What the handshake showed, kept for the caller whatever the exchange's outcome.
    final class TLSRecord: Sendable {
        private let state = Mutex<TLSFacts?>(nil)

        var facts: TLSFacts? { state.withLock { $0 } }

        func record(_ facts: TLSFacts?) { state.withLock { $0 = facts } }
    }

    struct Response: Sendable {
        var version: String
        var status: Int
        var reason: String
        var headers: [(name: String, value: String)]
        /// The body's length as decoded (as sent when it is not).
        var bodyBytes = 0
        /// When the body was decoded: its coding and length as sent.
        var coding: ContentCoding?
        var encodedBytes: Int?
        /// Why the body could not be decoded (it is then not checked).
        var decodingFailure: String?
        var body: [UInt8] = []

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// Keeps the body's first `limit` bytes, for the body patterns.
        mutating func keep(_ bytes: some Collection<UInt8>, upTo limit: Int) {
            let room = limit - body.count
            if room > 0 { body += bytes.prefix(room) }
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
        // For https, the connect is timed next to the socket, before TLS sees the connection come up (and writes its
        // ClientHello): the other clock is on the plaintext side.
        let connectClock = ExchangeClock()
        // HTTP/2: the request's own instants are its stream's (the connection also carries SETTINGS and PINGs).
        let streamClock = ExchangeClock()
        let connection: Connection
        do {
            let timeout = min(request.connectTimeout, max(request.deadline - .now, .milliseconds(1)))
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(timeout.inNanoseconds))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            let address = try SocketAddress(ipAddress: request.address.description, port: Int(request.port))
            let tls = request.tls
            let offersHTTP2 = request.offersHTTP2 && tls != nil
            connection = try await bootstrap.connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // On the plaintext side of TLS: its clock starts when nothing but the connect is left to do, and
                    // it sees the request and the response, not the handshake.
                    let handshake = try tls.map { try TLSHandshake.add($0, to: channel) }
                    try pipeline.addHandler(clock, position: handshake.map { .after($0) } ?? .first)
                    if handshake != nil { try pipeline.addHandler(connectClock, position: .first) }
                    clock.handshake = handshake
                    guard offersHTTP2 else { return .http1(try http1(on: channel)) }
                    let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            guard case .negotiated("h2") = result else { return .http1_1(try http1(on: channel)) }
                            // Streams the server opens (pushes) are refused: nothing is initialised for them.
                            return .http2(try pipeline.configureAsyncHTTP2Pipeline(mode: .client) { $0.eventLoop.makeSucceededVoidFuture() })
                        }
                    }
                    try pipeline.addHandler(negotiation)
                    let negotiated = negotiation.protocolNegotiationResult
                    return .negotiating(negotiated, channel)
                }
            }
            let instants = (request.tls == nil ? clock : connectClock).instants
            timings.connectStart = instants.connectStart ?? timings.connectStart
            timings.connected = instants.connected ?? .now
        } catch {
            return (timings, .failure(connectFailure(error, request: request)))
        }
        let underlying = connection.channel
        let remaining = request.deadline - .now
        let timedOut = Atomic(false)
        let deadline = underlying.eventLoop.scheduleTask(in: .nanoseconds(max(remaining, .zero).inNanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            underlying.close(promise: nil)
        }
        defer { deadline.cancel() }
        let usedHTTP2 = Atomic(false)
        let result: Result<Response, Failure> = await withTaskCancellationHandler {
            if let handshake = clock.handshake {
                let verdict = await handshake.verdict()
                tlsRecord.record(verdict.facts)
                if let refusal = verdict.refusal {
                    try? await underlying.close()
                    return .failure(Failure(outcome: .tls, message: refusal))
                }
            }
            switch connection {
            case .http1(let channel):
                return await exchange(over: channel, request, http2: false)
            case .negotiating(let negotiated, _):
                do {
                    switch try await negotiated.get() {
                    case .http1_1(let channel):
                        return await exchange(over: channel, request, http2: false)
                    case .http2(let multiplexer):
                        usedHTTP2.store(true, ordering: .relaxed)
                        defer { underlying.close(promise: nil) }
                        let stream = try await multiplexer.openStream { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(streamClock)
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                                return try HTTP1Channel(wrappingChannelSynchronously: stream)
                            }
                        }
                        return await exchange(over: stream, request, http2: true)
                    }
                } catch {
                    underlying.close(promise: nil)
                    return .failure(Failure(outcome: .closed, message: "the connection broke before the request: \(error)"))
                }
            }
        } onCancel: {
            underlying.close(promise: nil)
        }
        let instants = (usedHTTP2.load(ordering: .relaxed) ? streamClock : clock).instants
        timings.tlsDone = clock.handshake?.completedAt
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

    /// HTTP/1.1 on `channel` (on its event loop): the codec, and the async channel the exchange talks through.
    private static func http1(on channel: any Channel) throws -> HTTP1Channel {
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        return try HTTP1Channel(wrappingChannelSynchronously: channel)
    }

    /// - Parameter http2: `channel` is an HTTP/2 stream (behind a codec that speaks HTTP/1 parts): no
    ///   connection-specific header, and the version as curl writes it (`HTTP/2`).
    private static func exchange(over channel: HTTP1Channel, _ request: Request, http2: Bool) async -> Result<Response, Failure> {
        var headers = HTTPHeaders([("Host", request.target.hostHeader)])
        if !request.headers.contains(where: { $0.name.lowercased() == "user-agent" }) { headers.add(name: "User-Agent", value: "sonde") }
        if !request.headers.contains(where: { $0.name.lowercased() == "accept" }) { headers.add(name: "Accept", value: "*/*") }
        for header in request.headers { headers.add(name: header.name, value: header.value) }
        if !http2 { headers.add(name: "Connection", value: "close") }
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
                var decoder: HTTPBodyDecoder?
                for try await part in inbound {
                    switch part {
                    case .head(let received):
                        var answer = Response(
                            version: http2 ? "HTTP/2" : "HTTP/\(received.version.major).\(received.version.minor)",
                            status: Int(received.status.code),
                            reason: received.status.reasonPhrase, headers: received.headers.map { ($0.name, $0.value) })
                        do throws(HTTPBodyDecoder.Failure) {
                            decoder = try bodyDecoder(for: answer, request)
                        } catch {
                            answer.decodingFailure = error.message
                            return .success(answer)
                        }
                        if let decoder {
                            answer.coding = decoder.coding
                            answer.encodedBytes = 0
                        }
                        response = answer
                    case .body(let bytes):
                        guard var current = response else { continue }
                        let tooLarge = Failure(
                            outcome: .tooLarge, message: "the body is longer than the limit of \(request.maxBody) bytes (--max-body)")
                        guard let decoder else {
                            current.bodyBytes += bytes.readableBytes
                            guard current.bodyBytes <= request.maxBody else { return .failure(tooLarge) }
                            current.keep(bytes.readableBytesView, upTo: request.keptBody)
                            response = current
                            continue
                        }
                        // Counted as sent and as decoded: neither may pass the limit (a small body that decodes to
                        // gigabytes stops at the limit, having held one chunk).
                        current.encodedBytes = (current.encodedBytes ?? 0) + bytes.readableBytes
                        guard current.encodedBytes ?? 0 <= request.maxBody else { return .failure(tooLarge) }
                        do throws(HTTPBodyDecoder.Failure) {
                            try decoder.decode(bytes.readableBytesView) { piece in
                                current.bodyBytes += piece.count
                                guard current.bodyBytes <= request.maxBody else { return false }
                                current.keep(piece, upTo: request.keptBody)
                                return true
                            }
                        } catch {
                            current.decodingFailure = error.message
                            return .success(current)
                        }
                        guard current.bodyBytes <= request.maxBody else { return .failure(tooLarge) }
                        response = current
                    case .end:
                        guard var response else { continue }
                        do throws(HTTPBodyDecoder.Failure) {
                            try decoder?.finish()
                        } catch {
                            response.decodingFailure = error.message
                        }
                        return .success(response)
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

    /// The decoder a response's body needs, if any: none for a redirect that is followed, for HEAD and for answers
    /// without a body (204, 304, 1xx).
    private static func bodyDecoder(for response: Response, _ request: Request) throws(HTTPBodyDecoder.Failure) -> HTTPBodyDecoder? {
        if request.method == "HEAD" || [204, 304].contains(response.status) || response.status < 200 { return nil }
        if request.followsRedirects, [301, 302, 303, 307, 308].contains(response.status), response.header("Location") != nil { return nil }
        switch request.decoding {
        case .none: return nil
        case .fixed(let coding): return try HTTPBodyDecoder(coding)
        case .negotiated:
            guard let written = response.header("Content-Encoding") else { return nil }
            guard let coding = ContentCoding(contentEncoding: written[...].trimmingSpaces) else {
                throw HTTPBodyDecoder.Failure(message: "the body is in '\(written)', which Sonde cannot decode (gzip, deflate, br)")
            }
            return try HTTPBodyDecoder(coding)
        }
    }

    private static func connectFailure(_ error: any Error, request: Request) -> Failure {
        let failure = ConnectFailure(error, address: request.address, port: request.port)
        switch failure.kind {
        case .refused: return Failure(outcome: .refused, message: failure.message)
        case .timeout: return Failure(outcome: .timeout, message: failure.message)
        case .unreachable: return Failure(outcome: .unreachable, message: failure.message)
        case .error: return Failure(outcome: .error, message: failure.message)
        }
    }
}

/// A handler's view of one exchange, on the event loop: when the connect was asked of the socket and when it
/// completed (so neither the group's start-up nor the channel's registration counts), when the request's last byte
/// was written, when the first response byte and the last arrived.
private final class ExchangeClock: ChannelDuplexHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Instants {
        /// When the connect passed on its way to the socket (`connect(2)` follows at once).
        var connectStart: ContinuousClock.Instant?
        var connected: ContinuousClock.Instant?
        var requestSent: ContinuousClock.Instant?
        var firstByte: ContinuousClock.Instant?
        var end: ContinuousClock.Instant?
    }

    private let state = Mutex(Instants())
    private let tls = Mutex<TLSHandshake?>(nil)

    var instants: Instants { state.withLock { $0 } }

    /// The connection's TLS, when it is https.
    var handshake: TLSHandshake? {
        get { tls.withLock { $0 } }
        set { tls.withLock { $0 = newValue } }
    }

    func connect(context: ChannelHandlerContext, to address: SocketAddress, promise: EventLoopPromise<Void>?) {
        let now = ContinuousClock.now
        state.withLock { $0.connectStart = now }
        context.connect(to: address, promise: promise)
    }

    func channelActive(context: ChannelHandlerContext) {
        let now = ContinuousClock.now
        state.withLock { $0.connected = now }
        context.fireChannelActive()
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
