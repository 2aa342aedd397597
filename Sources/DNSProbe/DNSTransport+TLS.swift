import NIOCore
import NIOPosix
import SondeCore
import SondeNIO
import SondeTLS
import Synchronization

extension DNSTransport {
    /// DNS over TLS (RFC 7858): a fresh connection, the handshake judged by SondeTLS, then one length-prefixed query
    /// and its answer, all within `timeout`. A chain that is not trusted (without `-k`) ends it before the query.
    static func exchangeOverTLS(
        _ query: [UInt8], with server: IPAddress, port: UInt16, from source: IPAddress?, tls: TLSSetup, timeout: Duration
    ) async -> (Outcome, TLSFacts?) {
        let deadline = ContinuousClock.now + timeout
        let started = ContinuousClock.now
        let handshakeBox = Mutex<TLSHandshake?>(nil)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(max(timeout, .milliseconds(1)).inNanoseconds))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            if let source {
                guard source.family == server.family else { return (.failed(EAFNOSUPPORT), nil) }
                bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source.description, port: 0))
            }
            channel = try await bootstrap.connect(to: try SocketAddress(ipAddress: server.description, port: Int(port))) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = try TLSHandshake.add(tls, to: channel)
                    handshakeBox.withLock { $0 = handshake }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            let failure = ConnectFailure(error, address: server, port: port)
            switch failure.kind {
            case .refused: return (.failed(ECONNREFUSED), nil)
            case .timeout: return (.timeout, nil)
            case .unreachable: return (.failed(EHOSTUNREACH), nil)
            case .error: return (.failedWith(failure.message), nil)
            }
        }
        let connectTime = ContinuousClock.now - started
        let underlying = channel.channel
        let timedOut = Atomic(false)
        let timer = underlying.eventLoop.scheduleTask(in: .nanoseconds(max(deadline - .now, .zero).inNanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            underlying.close(promise: nil)
        }
        defer {
            timer.cancel()
            underlying.close(promise: nil)
        }
        let facts = Mutex<TLSFacts?>(nil)
        let outcome: Outcome = await withTaskCancellationHandler {
            do {
                // The channel is always closed through executeThenClose, the refusal included (its writer must finish).
                return try await channel.executeThenClose { inbound, outbound in
                    if let handshake = handshakeBox.withLock({ $0 }) {
                        let verdict = await handshake.verdict()
                        facts.withLock { $0 = verdict.facts }
                        if let refusal = verdict.refusal { return timedOut.load(ordering: .relaxed) ? .timeout : .failedWith(refusal) }
                    }
                    try await outbound.write(ByteBuffer(bytes: [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query))
                    var received: [UInt8] = []
                    for try await chunk in inbound {
                        received += chunk.readableBytesView
                        guard received.count >= 2 else { continue }
                        let length = Int(received[0]) << 8 | Int(received[1])
                        if received.count >= 2 + length {
                            return .response(Array(received[2..<(2 + length)]), elapsed: .now - started, connect: connectTime)
                        }
                    }
                    return timedOut.load(ordering: .relaxed) ? .timeout : .failed(ECONNRESET)
                }
            } catch {
                return timedOut.load(ordering: .relaxed) ? .timeout : .failedWith("the TLS connection broke: \(error)")
            }
        } onCancel: {
            underlying.close(promise: nil)
        }
        return (outcome, facts.withLock { $0 })
    }
}
