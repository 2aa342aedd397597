import SondeCore
import SondeIO
import SondeRegex

#if canImport(Glibc)
    import Glibc
#endif

/// One connection attempt: non-blocking connect timed by the reactor, then the optional banner read and
/// send/expect exchange.
struct TCPAttempt {
    /// One attempt's validated parameters, typed (read once per run).
    struct Plan: Sendable {
        var timeout: Duration
        var source: IPAddress?
        var readBanner: Bool
        var bannerBytes: Int
        var readTimeout: Duration
        var send: [UInt8]?
        var expect: SafeRegex?
        /// No read or wait goes past this (the run's deadline), whatever `readTimeout` says.
        var deadline: ContinuousClock.Instant?

        init(_ values: ParameterValues, source: IPAddress?) throws(ProbeError) {
            timeout = values.duration("timeout") ?? .seconds(3)
            self.source = source
            readBanner = values.boolean("banner") ?? false
            bannerBytes = min(values.integer("bannerBytes") ?? 256, TCPAttempt.maxBannerBytes)
            readTimeout = values.duration("readTimeout") ?? .seconds(2)
            send = values.string("send").map(TCPConnectProbe.unescape)
            if let pattern = values.string("expect") {
                do {
                    expect = try SafeRegex(pattern)
                } catch {
                    throw ProbeError.invalid(parameter: "expect", value: pattern, allowed: "an RE2 regular expression (\(error.reason))")
                }
            }
        }

        /// When a read that starts now must end.
        func readDeadline() -> ContinuousClock.Instant {
            let end = ContinuousClock.now + readTimeout
            guard let deadline else { return end }
            return min(end, deadline)
        }
    }

    /// The most bytes read for a banner.
    static let maxBannerBytes = 4096
    /// The most bytes read while waiting for an expected reply; the pattern is matched within them.
    static let maxExpectBytes = 65_536
    /// The most bytes of a banner or reply that an event reports (before escaping).
    static let maxReportedBytes = 1024

    struct Result: Sendable {
        var outcome: TCPOutcome
        var connectTime: Duration?
        var code: Int32 = 0
        var banner: String?
        var expect: ExpectResult?
    }

    /// The code an attempt ends with when its task is cancelled (not counted as an attempt).
    static let cancelled = ECANCELED

    static func run(to address: IPAddress, port: UInt16, plan: Plan) async -> Result {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let descriptor = socket(domain, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return Result(outcome: .error, code: errno) }
        defer { close(descriptor) }
        // ICMP errors (host or network unreachable) fail the connect at once instead of after the timeout.
        var on: Int32 = 1
        if address.family == .ipv4 {
            setsockopt(descriptor, Int32(IPPROTO_IP), IP_RECVERR, &on, socklen_t(MemoryLayout<Int32>.size))
        } else {
            setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_RECVERR, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source = plan.source {
            var (local, length) = source.socketAddress()
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            guard bound == 0 else { return Result(outcome: .error, code: errno) }
        }
        var (remote, length) = address.socketAddress(port: port)
        let started = ContinuousClock.now
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
        var code: Int32 = connected == 0 ? 0 : errno
        var finished = started
        if connected != 0 {
            guard code == EINPROGRESS else {
                return Result(outcome: classify(code), connectTime: .now - started, code: code)
            }
            switch await Reactor.shared.wait(for: descriptor, .writable, until: started + plan.timeout) {
            case .ready(let at):
                finished = at
                var error: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &size)
                code = error
            case .timedOut:
                return Result(outcome: .timeout, code: ETIMEDOUT)
            case .cancelled:
                return Result(outcome: .error, code: ECANCELED)
            }
        } else {
            finished = .now
        }
        guard code == 0 else { return Result(outcome: classify(code), connectTime: finished - started, code: code) }
        var result = Result(outcome: .open, connectTime: finished - started)
        if plan.readBanner {
            let bytes = await read(descriptor, until: plan.readDeadline(), limit: plan.bannerBytes) { $0.contains(UInt8(ascii: "\n")) }
            let line = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            result.banner = Self.printable(Array(line.prefix(maxReportedBytes)))
        }
        if let payload = plan.send {
            _ = payload.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        if let regex = plan.expect {
            var matched = false
            // RE2 runs in time linear in the input, so matching the (bounded) bytes so far after each read is
            // bounded too: at most maxExpectBytes / 4096 matches of at most maxExpectBytes each.
            let bytes = await read(descriptor, until: plan.readDeadline(), limit: maxExpectBytes) { data in
                matched = regex.matches(data)
                return matched
            }
            result.expect = ExpectResult(pattern: regex.pattern, matched: matched, received: Self.printable(Array(bytes.prefix(maxReportedBytes))))
        }
        return result
    }

    /// Reads until `done` says so, `limit` bytes, end of stream, or the deadline.
    private static func read(
        _ descriptor: Int32, until deadline: ContinuousClock.Instant, limit: Int, done: ([UInt8]) -> Bool
    ) async -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while data.count < limit {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, min($0.count, limit - data.count), Int32(MSG_DONTWAIT)) }
            if count > 0 {
                data += chunk[0..<count]
                if done(data) { break }
                continue
            }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { break }
            guard case .ready = await Reactor.shared.wait(for: descriptor, .readable, until: deadline) else { break }
        }
        return data
    }

    static func classify(_ code: Int32) -> TCPOutcome {
        switch code {
        case 0: .open
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timeout
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES, EPERM: .unreachable
        default: .error
        }
    }

    /// Text safe to print: valid UTF-8 kept, control characters other than tab escaped, no trailing CR.
    static func printable(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control, scalar != "\t" {
                result += scalar == "\n" ? "\\n" : scalar == "\r" ? "\\r" : "\\x" + String(scalar.value, radix: 16)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
