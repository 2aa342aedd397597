import SondeCore
import SondeICMP

/// What one engine observation says about one probe of a path trace, read the same way by traceroute and mtr.
struct HopAnswer {
    var sequence: Int
    var probe: TracerouteHop.Probe
    /// The target itself answered (an echo reply, or its port unreachable).
    var reached = false
    /// An unreachable from this hop: the path ends here.
    var stops = false
    /// Nothing answered within the timeout.
    var timedOut: Bool { probe.from == nil && probe.error == nil }

    /// The answer in `observation`, or `nil` for one that settles no probe (a send, a duplicate, the end of the
    /// schedule).
    static func read(_ observation: EchoObservation, destination: IPAddress) -> HopAnswer? {
        switch observation {
        case .reply(let reply) where !reply.duplicate:
            var answer = HopAnswer(
                sequence: reply.sequence, probe: .init(from: reply.from.description, rttMs: Double(reply.rttMicroseconds) / 1000))
            answer.reached = reply.from == destination
            return answer
        case .icmpError(let sequence, let from, let family, let type, let code, _, let rttMicroseconds):
            let rtt = Double(rttMicroseconds) / 1000
            let marker = TracerouteHop.marker(family: family, type: type, code: code)
            var answer = HopAnswer(
                sequence: sequence, probe: .init(from: from.description, rttMs: rtt, marker: marker.flatMap { $0.isEmpty ? nil : $0 }))
            // Time exceeded (nil) is a hop on the way; port unreachable ("") the target itself; any other
            // unreachable ends the path here.
            if marker == "" { answer.reached = true } else if marker != nil { answer.stops = true }
            return answer
        case .timedOut(let sequence):
            return HopAnswer(sequence: sequence, probe: .init())
        case .sendFailed(let sequence, let code), .localError(let sequence, let code, _):
            return HopAnswer(sequence: sequence, probe: .init(error: ErrorNumber.message(code)))
        default:
            return nil
        }
    }
}
