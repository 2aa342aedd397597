import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import SondeCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a listener allows one connection before the request gets to a route: these bound what a caller
/// who never authenticates can hold.
package struct ConnectionLimits: Sendable {
    /// Connections open at once; one more is answered `503` and closed as soon as its request head is read.
    package var maxConnections = 1024
    /// A connection that has not sent a complete request head (or its next one) this long after opening
    /// (or after its last answer) is closed: half a request holds nothing forever.
    package var idleTimeout: Duration = .seconds(15)
    /// A request body must arrive in full within this.
    package static let bodyTimeout: Duration = .seconds(10)
    /// Request head sizes (Hummingbird allows 80 KiB per field and in all).
    package var maxHeaderFieldBytes = 8192
    package var maxHeaderListBytes = 16_384
    package var maxHeaderFields = 64

    package init() {}

    /// The listener settings `sonde serve` and `sonde gateway` share, declared once.
    package static let settings: [ParameterSpec] = [
        ParameterSpec(
            "maxConnections", .integer(1...1_000_000), default: .integer(1024),
            summary: "Connections open at once; one more gets 503 (health checks excepted)"),
        ParameterSpec(
            "idleTimeout", .seconds(0.5...3600), default: .number(15),
            summary: "Seconds a connection may wait before sending a complete request head (or the next one); then it is closed"),
    ]

    /// The limits from validated settings (see ``settings``).
    package init(_ values: ParameterValues) {
        self.init()
        maxConnections = values.integer("maxConnections") ?? maxConnections
        idleTimeout = values.duration("idleTimeout") ?? idleTimeout
    }

    /// Hummingbird's HTTP/1 server with these limits, `counter` counting the listener's connections.
    package func server(counter: ConnectionCounter) -> HTTPServerBuilder {
        let limit = maxConnections
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [MalformedRequestHandler(limits: self), ConnectionCapHandler(counter: counter, limit: limit)],
                idleTimeout: .nanoseconds(idleTimeout.inNanoseconds),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: maxHeaderFieldBytes, maxHeaderListSize: maxHeaderListBytes, maxHeaderFieldCount: maxHeaderFields
                )
            )
        )
    }

    /// Raises the soft limit on open files to the hard limit, so the connection cap, not `EMFILE`, is what a
    /// flood of connections meets. Returns the limit in force (0 if it cannot be read).
    @discardableResult
    package static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}

/// Open connections of one listener.
package final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)

    package init() {}

    /// Connections open now.
    package var open: Int { count.load(ordering: .relaxed) }
    /// Connections answered 503 because the cap was reached, since start.
    package var refused: Int { refusedCount.load(ordering: .relaxed) }

    fileprivate func opened() -> Int { count.add(1, ordering: .relaxed).newValue }
    fileprivate func closed() { count.subtract(1, ordering: .relaxed) }
    fileprivate func refuse() { refusedCount.add(1, ordering: .relaxed) }
}

/// Counts the connection while it is open; over the cap, answers its first request `503` with
/// `Connection: close` instead of passing it on (health checks excepted).
package final class ConnectionCapHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart
    package typealias OutboundIn = HTTPResponsePart
    package typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let limit: Int
    private var counted = false
    private var overLimit = false
    /// Over the cap, the request being read is a health check, passed on.
    private var passingHealthCheck = false

    package init(counter: ConnectionCounter, limit: Int) {
        self.counter = counter
        self.limit = limit
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { count() }
    }

    package func channelActive(context: ChannelHandlerContext) {
        count()
        context.fireChannelActive()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        uncount()
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) { uncount() }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard overLimit else { return context.fireChannelRead(data) }
        let part = unwrapInboundIn(data)
        guard case .head(let request) = part else {
            if passingHealthCheck { context.fireChannelRead(data) }
            return
        }
        // Health checks cost nothing and must not fail because a caller holds every other connection.
        let path = request.path.map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? $0 } ?? ""
        passingHealthCheck = Self.alwaysServed.contains(path)
        if passingHealthCheck { return context.fireChannelRead(data) }
        counter.refuse()
        let body = #"{"error":{"code":"too_many_connections","message":"this Sonde has \#(limit) connections open: retry shortly"}}"#
        answerAndClose(context: context, .serviceUnavailable, json: body, extra: [.retryAfter: "1"])
    }

    /// Paths served even over the cap: the kubelet's probes.
    package static let alwaysServed: Set<String> = ["/healthz", "/readyz"]

    private func count() {
        guard !counted else { return }
        counted = true
        overLimit = counter.opened() > limit
    }

    private func uncount() {
        guard counted else { return }
        counted = false
        counter.closed()
    }
}

/// A request NIO's parser refuses — a request line or headers over the limits, or not HTTP/1 at all — gets the
/// API's JSON error naming the limit, instead of Hummingbird's empty `400`, and the connection is closed.
package final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart
    package typealias OutboundIn = HTTPResponsePart
    package typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    /// A response has begun and not ended: an error then can only close the connection.
    private var responding = false

    package init(limits: ConnectionLimits) {
        self.limits = limits
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !responding else { return context.close(promise: nil) }
        let tooLarge = parserError == .headerOverflow
        let status: HTTPResponse.Status = tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        let message =
            tooLarge
            ? "the request line or a header is longer than \(limits.maxHeaderFieldBytes) bytes, or the headers \(limits.maxHeaderListBytes) "
                + "in all (at most \(limits.maxHeaderFields)): send long parameter values in a POST body"
            : "the request is not HTTP/1.1 (\(parserError))"
        let body = #"{"error":{"code":"\#(tooLarge ? "request_too_large" : "malformed_request")","message":"\#(message)"}}"#
        responding = true
        answerAndClose(context: context, status, json: body)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responding = true
        case .end: responding = false
        default: break
        }
        context.write(data, promise: promise)
    }
}

extension ChannelOutboundHandler where OutboundOut == HTTPResponsePart {
    /// Writes a whole JSON answer with `Connection: close`, then closes the connection once it is out.
    fileprivate func answerAndClose(
        context: ChannelHandlerContext, _ status: HTTPResponse.Status, json body: String, extra: HTTPFields = [:]
    ) {
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.utf8.count)
        head.headerFields[.connection] = "close"
        head.headerFields.append(contentsOf: extra)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(string: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
