import SondeCore
import SondeICMP

/// The bookkeeping of one ping run: which requests are in flight, how each ended, and the statistics.
///
/// Every request ends exactly once — replied, timed out, or failed (send error or ICMP error) — so nothing
/// is counted both lost and received. Replies after the timeout are reported `late` and stay lost; further
/// copies are `duplicate`s; neither enters the round-trip statistics.
struct PingTracker {
    let target: String
    let plan: PingPlan
    private var inFlight: [Int: ContinuousClock.Instant] = [:]
    private var summaryCounts = PingSummary()
    private var roundTrips = RTTStatistics()
    private var lastSend: ContinuousClock.Instant?
    private var sendFailures = 0
    var allSent = false

    init(target: String, plan: PingPlan) {
        self.target = target
        self.plan = plan
    }

    /// With both a count and a deadline, `count` means replies (as in iputils).
    var enoughReplies: Bool {
        guard let count = plan.count, plan.deadline != nil else { return false }
        return summaryCounts.received >= count
    }

    var isFinished: Bool { enoughReplies || (allSent && inFlight.isEmpty) }

    var succeeded: Bool {
        if let count = plan.count, plan.deadline != nil { return summaryCounts.received >= count }
        return summaryCounts.received > 0
    }

    mutating func sent(_ sequence: Int, at instant: ContinuousClock.Instant) {
        inFlight[sequence] = instant
        summaryCounts.transmitted += 1
        lastSend = instant
    }

    mutating func sendFailed(_ sequence: Int, code: Int32) -> PingEvent {
        summaryCounts.errors += 1
        sendFailures += 1
        var event = PingEvent(.sendError, target: target, seq: sequence)
        event.errno = ErrorNumber.name(code)
        event.message = ErrorNumber.message(code)
        return event
    }

    mutating func timedOut(_ sequence: Int) -> PingEvent? {
        guard inFlight.removeValue(forKey: sequence) != nil else { return nil }
        return PingEvent(.timeout, target: target, seq: sequence)
    }

    mutating func observe(_ observation: EchoObservation) -> [PingEvent] {
        switch observation {
        case .sent(let sequence, let instant):
            sent(sequence, at: instant)
            return []
        case .sendFailed(let sequence, let code):
            return [sendFailed(sequence, code: code)]
        case .timedOut(let sequence):
            return timedOut(sequence).map { [$0] } ?? []
        case .allSent:
            allSent = true
            return []
        case .deadlineReached:
            return []
        case .reply(let reply):
            var event = PingEvent(.reply, target: target, seq: reply.sequence)
            event.from = reply.from.description
            event.bytes = reply.bytes
            event.ttl = reply.ttl
            event.rttMs = Double(reply.rttMicroseconds) / 1000
            event.differentAddress = reply.differentAddress ? true : nil
            event.truncated = reply.truncated ? true : nil
            event.wrongData = reply.wrongData
            if reply.duplicate {
                summaryCounts.duplicates += 1
                event.type = PingEvent.Kind.duplicate.rawValue
            } else if inFlight[reply.sequence] == nil
                || Int64(reply.rttMicroseconds) > plan.timeout.inMicroseconds
            {
                inFlight.removeValue(forKey: reply.sequence)
                summaryCounts.late += 1
                event.type = PingEvent.Kind.late.rawValue
            } else {
                inFlight.removeValue(forKey: reply.sequence)
                summaryCounts.received += 1
                summaryCounts.replyHopLimit = reply.ttl ?? summaryCounts.replyHopLimit
                roundTrips.add(microseconds: reply.rttMicroseconds)
            }
            return [event]
        case .corrupted(let sequence, let from, let bytes, let ttl, let rtt):
            summaryCounts.corrupted += 1
            var event = PingEvent(.corrupted, target: target, seq: sequence)
            event.from = from.description
            event.bytes = bytes
            event.ttl = ttl
            event.rttMs = Double(rtt) / 1000
            return [event]
        case .icmpError(let sequence, let from, let family, let type, let code, let mtu, _):
            if inFlight.removeValue(forKey: sequence) != nil { summaryCounts.errors += 1 }
            var event = PingEvent(.icmpError, target: target, seq: sequence)
            event.from = from.description
            event.icmpType = Int(type)
            event.icmpCode = Int(code)
            event.mtu = mtu > 0 ? Int(mtu) : nil
            event.message = ICMPErrorText.describe(family: family, type: type, code: code, mtu: mtu)
            return [event]
        case .localError(let sequence, let code, let mtu):
            if inFlight.removeValue(forKey: sequence) != nil { summaryCounts.errors += 1 }
            var event = PingEvent(.sendError, target: target, seq: sequence)
            event.errno = ErrorNumber.name(code)
            event.mtu = mtu > 0 ? Int(mtu) : nil
            event.message = "local error: \(ErrorNumber.message(code))" + (mtu > 0 ? ", mtu=\(mtu)" : "")
            return [event]
        }
    }

    func summary(start: ContinuousClock.Instant) -> PingSummary {
        var summary = summaryCounts
        if summary.transmitted > 0 {
            summary.lossPercent = Double(summary.transmitted - summary.received) * 100 / Double(summary.transmitted)
        } else {
            summary.lossPercent = sendFailures > 0 ? 100 : 0
        }
        if let lastSend {
            summary.timeMs = Int(((lastSend - start).inMicroseconds + 500) / 1000)
        }
        summary.rtt = roundTrips.summary
        return summary
    }
}

/// ICMP error types and codes in the words `ping` uses.
enum ICMPErrorText {
    static func describe(family: AddressFamily, type: UInt8, code: UInt8, mtu: UInt32) -> String {
        switch family {
        case .ipv4: return ipv4(type: type, code: code, mtu: mtu)
        case .ipv6: return ipv6(type: type, code: code, mtu: mtu)
        }
    }

    private static func ipv4(type: UInt8, code: UInt8, mtu: UInt32) -> String {
        switch type {
        case ICMPType.V4.destinationUnreachable:
            let reasons = [
                "Destination Net Unreachable", "Destination Host Unreachable", "Destination Protocol Unreachable",
                "Destination Port Unreachable", "Frag needed and DF set (mtu = \(mtu))", "Source Route Failed",
                "Destination Net Unknown", "Destination Host Unknown", "Source Host Isolated",
                "Destination Net Prohibited", "Destination Host Prohibited",
                "Destination Net Unreachable for Type of Service", "Destination Host Unreachable for Type of Service",
                "Packet filtered", "Precedence Violation", "Precedence Cutoff",
            ]
            return Int(code) < reasons.count ? reasons[Int(code)] : "Dest Unreachable, Bad Code: \(code)"
        case ICMPType.V4.sourceQuench: return "Source Quench"
        case ICMPType.V4.redirect: return "Redirect (code \(code))"
        case ICMPType.V4.timeExceeded:
            return code == 0 ? "Time to live exceeded" : code == 1 ? "Frag reassembly time exceeded" : "Time exceeded, Bad Code: \(code)"
        case ICMPType.V4.parameterProblem: return "Parameter problem (code \(code))"
        default: return "ICMP type \(type) code \(code)"
        }
    }

    private static func ipv6(type: UInt8, code: UInt8, mtu: UInt32) -> String {
        switch type {
        case ICMPType.V6.destinationUnreachable:
            let reasons = [
                "No route", "Administratively prohibited", "Beyond scope of source address", "Address unreachable",
                "Port unreachable", "Source address failed ingress/egress policy", "Reject route to destination",
            ]
            return "Destination unreachable: " + (Int(code) < reasons.count ? reasons[Int(code)] : "Unknown code \(code)")
        case ICMPType.V6.packetTooBig: return "Packet too big: mtu=\(mtu)"
        case ICMPType.V6.timeExceeded:
            return code == 0 ? "Time exceeded: Hop limit" : code == 1 ? "Time exceeded: Defragmentation failure" : "Time exceeded: code \(code)"
        case ICMPType.V6.parameterProblem: return "Parameter problem (code \(code))"
        default: return "ICMPv6 type \(type) code \(code)"
        }
    }
}
