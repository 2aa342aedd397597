import CSondeNet
import SondeCore
import SondeIO

#if canImport(Glibc)
    import Glibc
#endif

/// How one attempt ended.
public enum UDPOutcome: String, Sendable, Codable {
    /// A datagram came back.
    case answered
    /// ICMP port unreachable: nothing listens there.
    case closed
    /// ICMP administratively prohibited (or its IPv6 kin): a firewall said no, at the target or on the path.
    case filtered
    /// ICMP host or network unreachable, or time exceeded: the datagram did not get there.
    case unreachable
    /// Silence until the timeout: open and quiet, or filtered without a word (open|filtered).
    case noAnswer = "no_answer"
    /// The datagram could not be sent (a local error, with its errno).
    case error
    /// The run was cancelled while waiting.
    case cancelled
}

/// An ICMP error the kernel matched to the datagram (`IP_RECVERR`): its type and code, who sent it, and whether
/// that was the target itself or a router on the way.
public struct UDPICMPError: Codable, Sendable, Equatable {
    public var type: Int
    public var code: Int
    /// The node that sent the error.
    public var from: String?
    /// Whether `from` is the target (the host said it) rather than a router.
    public var fromTarget: Bool
    /// In words: `port unreachable`, `administratively prohibited`, …
    public var meaning: String
}

/// One datagram from a fresh socket (a late answer to an earlier attempt cannot be taken for this one's), and
/// what came back: the answer, the ICMP error queued for the socket, or nothing by the deadline.
enum UDPAttempt {
    struct Result: Sendable {
        var outcome: UDPOutcome
        var time: Duration?
        var reply: [UInt8]?
        var icmp: UDPICMPError?
        var errno: Int32?
        var message: String?
    }

    /// The most reply bytes shown in a report (the reply's length is always given).
    static let maxShownBytes = 1024
    /// The largest datagram read.
    static let maxReplyBytes = 65_536

    static func run(to address: IPAddress, port: UInt16, plan: UDPPlan, until deadline: ContinuousClock.Instant) async -> Result {
        let descriptor: Int32
        do {
            descriptor = try address.probeSocket(SOCK_DGRAM, receivingErrors: true, source: plan.source)
        } catch {
            return failure(error.code, error.source.map { "cannot send from \($0)" } ?? "cannot open a UDP socket")
        }
        defer { close(descriptor) }
        // Connected: only the target's datagrams are read, and its ICMP errors are matched to this socket.
        var (remote, length) = address.socketAddress(port: port)
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
        guard connected == 0 else { return failure(errno, "cannot send to \(address.endpoint(port: port))") }
        let started = ContinuousClock.now
        let sent = plan.payload.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent >= 0 else { return failure(errno, "cannot send to \(address.endpoint(port: port))") }
        var buffer = [UInt8](repeating: 0, count: maxReplyBytes)
        while true {
            var info = sonde_received()
            // An ICMP error first: with IP_RECVERR it waits in the error queue, with who sent it.
            let queued = buffer.withUnsafeMutableBytes { sonde_receive(descriptor, $0.baseAddress, $0.count, 1, &info) }
            if queued >= 0, info.is_error != 0 {
                return classify(info, target: address, time: ContinuousClock.now - started)
            }
            let received = buffer.withUnsafeMutableBytes { sonde_receive(descriptor, $0.baseAddress, $0.count, 0, &info) }
            if received >= 0 {
                return Result(outcome: .answered, time: .now - started, reply: Array(buffer[0..<received]))
            }
            let code = errno
            if code != EAGAIN && code != EWOULDBLOCK {
                // The ICMP error itself (ECONNREFUSED, EHOSTUNREACH): its details are in the queue.
                let again = buffer.withUnsafeMutableBytes { sonde_receive(descriptor, $0.baseAddress, $0.count, 1, &info) }
                if again >= 0, info.is_error != 0 { return classify(info, target: address, time: ContinuousClock.now - started) }
                switch code {
                case ECONNREFUSED: return Result(outcome: .closed, time: .now - started, errno: code, message: ErrorNumber.message(code))
                case EHOSTUNREACH, ENETUNREACH:
                    return Result(outcome: .unreachable, time: .now - started, errno: code, message: ErrorNumber.message(code))
                default: return failure(code, "cannot read the answer")
                }
            }
            switch await Reactor.shared.wait(for: descriptor, .readable, until: deadline) {
            case .ready: continue
            case .timedOut: return Result(outcome: .noAnswer)
            case .cancelled: return Result(outcome: .cancelled)
            }
        }
    }

    private static func failure(_ code: Int32, _ what: String) -> Result {
        Result(outcome: .error, errno: code, message: "\(what): \(ErrorNumber.message(code))")
    }

    /// ICMP (or ICMPv6) type and code into an outcome, as nmap reads them for UDP.
    static func classify(_ info: sonde_received, target: IPAddress, time: Duration) -> Result {
        let origin = info.ee_origin
        // SO_EE_ORIGIN_LOCAL: the kernel refused to send (a local MTU, no route).
        guard origin == 2 || origin == 3 else {
            return Result(outcome: .error, time: time, errno: info.ee_errno, message: ErrorNumber.message(info.ee_errno))
        }
        let from = info.has_offender != 0 ? IPAddress(info.offender) : nil
        let type = Int(info.ee_type)
        let code = Int(info.ee_code)
        let (outcome, meaning) = origin == 2 ? icmp(type: type, code: code) : icmp6(type: type, code: code)
        let error = UDPICMPError(type: type, code: code, from: from?.description, fromTarget: from == target, meaning: meaning)
        return Result(outcome: outcome, time: time, icmp: error)
    }

    static func icmp(type: Int, code: Int) -> (UDPOutcome, String) {
        switch (type, code) {
        case (3, 3): (.closed, "port unreachable")
        case (3, 9), (3, 10), (3, 13): (.filtered, "administratively prohibited")
        case (3, 0): (.unreachable, "network unreachable")
        case (3, 1): (.unreachable, "host unreachable")
        case (3, 2): (.unreachable, "protocol unreachable")
        case (3, 4): (.unreachable, "fragmentation needed")
        case (11, _): (.unreachable, "time exceeded")
        default: (.unreachable, "ICMP type \(type) code \(code)")
        }
    }

    static func icmp6(type: Int, code: Int) -> (UDPOutcome, String) {
        switch (type, code) {
        case (1, 4): (.closed, "port unreachable")
        case (1, 1), (1, 5), (1, 6): (.filtered, "administratively prohibited")
        case (1, 0): (.unreachable, "no route to the destination")
        case (1, 3): (.unreachable, "address unreachable")
        case (2, _): (.unreachable, "packet too big")
        case (3, _): (.unreachable, "time exceeded")
        default: (.unreachable, "ICMPv6 type \(type) code \(code)")
        }
    }
}
