import SondeCore
import SondeIO
import SondeRegex
import SondeTLS

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
        var readTimeout: Duration
        var expect: SafeRegex?
        /// What the connection does once open: `--tls`, `--banner`, `--send`, `--expect`, or the `--step`s.
        var steps: [TCPStep] = []
        /// Whether the steps are blackbox's `query_response` (each reported), not Sonde's own parameters.
        var querySteps = false
        /// How a TLS server is judged, and who the client is; read always, so a bad value is refused at once.
        var tlsOptions: TLSOptions
        /// For `--tls` and `starttls`: the client (made by the run, once the options are allowed), and the host
        /// its certificate must name.
        var tls: TLSClient?
        var host: String
        /// No read or wait goes past this (the run's deadline), whatever `readTimeout` says.
        var deadline: ContinuousClock.Instant?

        init(_ values: ParameterValues, host: String, source: IPAddress?) throws(ProbeError) {
            timeout = values.duration("timeout") ?? .seconds(3)
            self.source = source
            self.host = host
            readBanner = values.boolean("banner") ?? false
            readTimeout = values.duration("readTimeout") ?? .seconds(2)
            if let pattern = values.string("expect") {
                do {
                    expect = try SafeRegex(pattern)
                } catch {
                    throw ProbeError.invalid(parameter: "expect", value: pattern, allowed: "an RE2 regular expression (\(error.reason))")
                }
            }
            if values.boolean("tls") == true { steps.append(.startTLS) }
            let queryResponse = try TCPStep.parse(values.string("step") ?? "")
            if !queryResponse.isEmpty {
                if let mixed = ["banner", "send", "expect"].first(where: { values[$0] != nil && values[$0] != .boolean(false) }) {
                    throw ProbeError.invalid(
                        parameter: mixed, value: values[mixed]?.description ?? "",
                        allowed: "nothing with --step: say it as steps (send:TEXT, expect:REGEX)")
                }
                steps += queryResponse
                querySteps = true
            } else {
                if readBanner { steps.append(.banner(limit: min(values.integer("bannerBytes") ?? 256, TCPAttempt.maxBannerBytes))) }
                if let text = values.string("send") { steps.append(.send(EscapedText.bytes(text), substituting: false)) }
                if let expect { steps.append(.expect(expect, lineByLine: false)) }
            }
            tlsOptions = try TLSOptions(values)
        }

        /// Whether a step speaks TLS.
        var needsTLS: Bool {
            steps.contains { if case .startTLS = $0 { true } else { false } }
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
    /// The most bytes of a banner or reply that an event reports (before escaping).
    static let maxReportedBytes = 1024

    struct Result: Sendable {
        var outcome: TCPOutcome
        var connectTime: Duration?
        var code: Int32 = 0
        /// What the conversation after the connect did, when there was one.
        var conversation: TCPConversation.Result?
        var banner: String? { conversation?.banner }
        var expect: ExpectResult? { conversation?.expect }
    }

    /// The code an attempt ends with when its task is cancelled (not counted as an attempt).
    static let cancelled = ECANCELED

    static func run(to address: IPAddress, port: UInt16, plan: Plan) async -> Result {
        // ICMP errors (host or network unreachable) fail the connect at once instead of after the timeout.
        let descriptor: Int32
        do {
            descriptor = try address.probeSocket(SOCK_STREAM, receivingErrors: true, source: plan.source)
        } catch {
            return Result(outcome: .error, code: error.code)
        }
        defer { close(descriptor) }
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
        guard !plan.steps.isEmpty else { return result }
        // The conversation runs on a NIO channel over its own copy of the descriptor (NIO closes it).
        let copy = dup(descriptor)
        guard copy >= 0 else { return Result(outcome: .error, code: errno) }
        let conversation = await TCPConversation(
            steps: plan.steps, tls: plan.tls, host: plan.host, readDeadline: { [plan] in plan.readDeadline() }, reportsSteps: plan.querySteps
        ).run(over: copy)
        result.conversation = conversation
        return result
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
}
