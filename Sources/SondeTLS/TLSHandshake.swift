public import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// What one connection needs to speak TLS: the client context, the name to send, and how the chain is judged.
public struct TLSSetup: Sendable {
    public var context: NIOSSLContext
    /// Sent in SNI; `nil` for an address without `--servername`.
    public var serverName: String?
    public var inspector: TLSInspector
    /// `-k`: talk to the server whatever the chain.
    public var insecure: Bool
}

/// TLS on one channel: the client handler next to the socket and this handler right after it, on the plaintext
/// side, which sees the handshake finish (version, ALPN, when) and keeps the chain the server presented, to be
/// judged once the handshake is done — before a byte of the caller's data is sent, and outside the handshake's
/// time, so the tls phase is the network's and the server's, not Sonde's checks.
public final class TLSHandshake: ChannelInboundHandler, Sendable {
    public typealias InboundIn = NIOAny

    /// The handshake as it went: facts to report, and the reason not to talk to this server, if there is one.
    public struct Verdict: Sendable {
        /// Absent when the server presented nothing (no TLS there, or the handshake broke before).
        public var facts: TLSFacts?
        /// Why the connection must not be used: an untrusted certificate without `-k`, a failed handshake.
        public var refusal: String?
        /// The server refused the handshake because it speaks none of the protocols ALPN offered (`h2` for gRPC).
        public var noApplicationProtocol = false
    }

    private struct State {
        var presented: [[UInt8]] = []
        var completedAt: ContinuousClock.Instant?
        var version: String?
        var alpn: String?
        var pending = true
    }

    private let setup: TLSSetup
    private let state = Mutex(State())
    private let finished: EventLoopPromise<Void>

    private init(_ setup: TLSSetup, promise: EventLoopPromise<Void>) {
        self.setup = setup
        finished = promise
    }

    /// Puts TLS first in `channel`'s pipeline (on a fresh channel, or on one that has talked in plaintext so far:
    /// STARTTLS) and starts the handshake. Call it on the channel's event loop.
    public static func add(_ setup: TLSSetup, to channel: any Channel) throws -> TLSHandshake {
        let handshake = TLSHandshake(setup, promise: channel.eventLoop.makePromise(of: Void.self))
        let encryption = try NIOSSLClientHandler(
            context: setup.context, serverHostname: setup.serverName,
            customVerificationCallbackWithMetadata: { certificates, promise in
                handshake.state.withLock { $0.presented = certificates.compactMap { try? $0.toDERBytes() } }
                promise.succeed(.certificateVerified(VerificationMetadata(nil)))
            })
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(encryption, position: .first)
        try pipeline.addHandler(handshake, position: .after(encryption))
        return handshake
    }

    /// ``add(_:to:)`` from outside the event loop.
    public static func install(_ setup: TLSSetup, on channel: any Channel) async throws -> TLSHandshake {
        try await channel.eventLoop.submit { try add(setup, to: channel) }.get()
    }

    /// When the handshake completed, on the event loop; `nil` until then, or if it failed.
    public var completedAt: ContinuousClock.Instant? { state.withLock { $0.completedAt } }

    /// Waits for the handshake to finish or fail, then judges the chain the server presented.
    public func verdict() async -> Verdict {
        let failure: (any Error)?
        do {
            try await finished.futureResult.get()
            failure = nil
        } catch {
            failure = error
        }
        let state = state.withLock { $0 }
        var verdict = Verdict()
        if !state.presented.isEmpty {
            let (presented, verified, problems) = await setup.inspector.inspect(state.presented)
            verdict.facts = TLSFacts(
                version: state.version, alpn: state.alpn, serverName: setup.serverName, presented: presented, verified: verified,
                problems: problems, insecure: setup.insecure)
            if !problems.isEmpty, !setup.insecure {
                verdict.refusal = "the certificate is not trusted: \(problems.joined(separator: "; ")) (-k to go on anyway)"
            }
        }
        if let failure, verdict.refusal == nil {
            // BoringSSL's name for the alert a server sends when it speaks none of the protocols ALPN offered.
            if "\(failure)".contains("NO_APPLICATION_PROTOCOL") {
                verdict.noApplicationProtocol = true
                verdict.refusal =
                    "the server speaks none of the application protocols offered by ALPN: it refused the handshake (no_application_protocol)"
            } else {
                verdict.refusal =
                    "the TLS handshake failed: \(failure) (no common version or cipher, a client certificate required, or no TLS server here)"
            }
        }
        return verdict
    }

    private func complete(_ result: Result<Void, any Error>) {
        let first = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if first { finished.completeWith(result) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        complete(.failure(ChannelError.ioOnClosedChannel))
    }

    public func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(ChannelError.ioOnClosedChannel))
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.fireErrorCaught(error)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let negotiated)? = event as? TLSUserEvent {
            let now = ContinuousClock.now
            let version = (try? context.pipeline.syncOperations.nioSSL_tlsVersion()).flatMap { $0 }.map(Self.name)
            state.withLock { state in
                state.completedAt = now
                state.version = version
                state.alpn = negotiated
            }
            complete(.success(()))
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
}
