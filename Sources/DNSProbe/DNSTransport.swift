import SondeCore
import SondeIO

#if canImport(Glibc)
    import Glibc
#endif

/// Sends one query to one server over UDP, TCP or TLS (``exchangeOverTLS``) and waits for the matching response.
enum DNSTransport: String, Sendable, Codable {
    case udp = "UDP"
    case tcp = "TCP"
    /// DNS over TLS (RFC 7858).
    case tls = "TLS"

    enum Outcome: Sendable {
        /// `elapsed` from the connect to the answer; `connect` the part the connect took (TCP's handshake).
        case response([UInt8], elapsed: Duration, connect: Duration)
        case timeout
        case failed(Int32)
        /// A failure errno cannot say: an untrusted certificate, a failed handshake.
        case failedWith(String)
    }

    /// UDP and TCP on Sonde's own reactor (TLS is ``exchangeOverTLS``).
    ///
    /// - Parameter source: the local address to send from; a server of the other family fails (`EAFNOSUPPORT`).
    /// - Returns: the response's bytes; UDP datagrams from elsewhere or with another id are ignored.
    func exchange(_ query: [UInt8], id: UInt16, with server: IPAddress, port: UInt16, from source: IPAddress?, timeout: Duration) async -> Outcome {
        let deadline = ContinuousClock.now + timeout
        if let source, source.family != server.family { return .failed(EAFNOSUPPORT) }
        let descriptor: Int32
        do {
            descriptor = try server.probeSocket(self == .udp ? SOCK_DGRAM : SOCK_STREAM, receivingErrors: false, source: source)
        } catch {
            return .failed(error.code)
        }
        defer { close(descriptor) }
        var (address, length) = server.socketAddress(port: port)
        let started = ContinuousClock.now
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
        if connected != 0 {
            guard errno == EINPROGRESS else { return .failed(errno) }
            switch await Reactor.shared.wait(for: descriptor, .writable, until: deadline) {
            case .ready:
                var error: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &size)
                guard error == 0 else { return .failed(error) }
            case .timedOut: return .timeout
            case .cancelled: return .failed(ECANCELED)
            }
        }
        let connectTime = ContinuousClock.now - started
        var message = query
        if self == .tcp { message = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query }
        let sent = message.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == message.count else { return .failed(sent < 0 ? errno : EMSGSIZE) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                switch self {
                case .udp:
                    let datagram = Array(buffer[0..<count])
                    if datagram.count >= 2, UInt16(datagram[0]) << 8 | UInt16(datagram[1]) == id {
                        return .response(datagram, elapsed: .now - started, connect: connectTime)
                    }
                    continue  // another query's late answer: keep waiting
                case .tcp, .tls:
                    received += buffer[0..<count]
                    if received.count >= 2 {
                        let length = Int(received[0]) << 8 | Int(received[1])
                        if received.count >= 2 + length {
                            return .response(Array(received[2..<(2 + length)]), elapsed: .now - started, connect: connectTime)
                        }
                    }
                    continue
                }
            }
            if count == 0 { return .failed(ECONNRESET) }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { return .failed(errno) }
            switch await Reactor.shared.wait(for: descriptor, .readable, until: deadline) {
            case .ready: continue
            case .timedOut: return .timeout
            case .cancelled: return .failed(ECANCELED)
            }
        }
    }
}
