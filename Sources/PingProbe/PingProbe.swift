#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import SondeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// ICMP echo ("ping") over the process's shared ICMP sockets.
public struct PingProbe: Probe {
    public static let kind: ProbeKind = "ping"

    /// The largest data length per family: 65535 − 20 (IPv4 header) − 8, and 65535 − 8 for IPv6.
    public static let maximumDataLength: [AddressFamily: Int] = [.ipv4: 65_507, .ipv6: 65_527]

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "ICMP echo: is the target reachable, with what loss and round-trip time",
        target: "host name or IPv4/IPv6 address (IPv6 may carry a zone: fe80::1%eth0)",
        parameters: [
            ParameterSpec(
                "count", .integer(1...1_000_000),
                summary: "Stop after sending this many requests (default: until interrupted or the deadline)",
                cli: .init(short: "c")),
            ParameterSpec(
                "interval", .seconds(0.002...3600), default: .number(1),
                summary: "Seconds between requests", cli: .init(short: "i")),
            ParameterSpec(
                "timeout", .seconds(0.001...3600), default: .number(2),
                summary: "Seconds to wait for each reply; a later reply is reported late and stays lost",
                cli: .init(short: "W")),
            ParameterSpec(
                "deadline", .seconds(0.001...86_400),
                summary: "Stop after this many seconds, whatever else happens; with count, stop once count replies arrived",
                cli: .init(short: "w")),
            ParameterSpec(
                "size", .integer(0...65_527), default: .integer(56),
                summary: "Data bytes per request (at most 65507 over IPv4, 65527 over IPv6)",
                cli: .init(short: "s")),
            ParameterSpec(
                "ttl", .integer(1...255),
                summary: "IP time to live / IPv6 hop limit of requests", cli: .init(short: "t")),
            ParameterSpec(
                "tos", .integer(0...255),
                summary: "IPv4 type of service / IPv6 traffic class (decimal or 0x hex)", cli: .init(short: "Q")),
            ParameterSpec(
                "pmtuDiscovery", .choice(PMTUDiscovery.allCases.map(\.rawValue)),
                summary: "Path MTU discovery: do (set don't-fragment), want, dont, probe", cli: .init(short: "M")),
            ParameterSpec(
                "interface", .text(maxLength: 64, format: .interfaceOrAddress),
                summary: "Send from this interface name or source address", cli: .init(short: "I")),
            FamilyPreference.parameter,
        ]
    )

    private let engine: ICMPEngine

    /// - Parameter engine: the process's shared ICMP engine.
    public init(engine: ICMPEngine) {
        self.engine = engine
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<PingEvent, PingSummary> {
        PingTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (PingEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<PingSummary> {
        let plan = try PingPlan(request.parameters)
        let family = FamilyPreference(rawValue: request.parameters.string("family") ?? "any") ?? .any
        let destination = try await HostResolver.resolve(request.target, family: family)[0]
        let options = try plan.echoOptions(for: destination)
        let started = Date()
        let startInstant = ContinuousClock.now
        let deadline = context.deadline(orEarlier: plan.deadline.map { startInstant + $0 })

        let (inputs, feed) = AsyncStream<SessionInput>.makeStream()
        let session = try engine.openSession(to: destination, options: options) { feed.yield(.observed($0)) }
        defer { session.close() }

        var start = PingEvent(.start, target: request.target)
        start.address = destination.description
        start.dataBytes = plan.dataLength
        start.socket = session.mode.rawValue
        events(start)

        var tracker = PingTracker(target: request.target, plan: plan)
        let stopSending = StopFlag()
        await withDiscardingTaskGroup { group in
            group.addTask {
                await Self.sendRequests(session: session, plan: plan, start: startInstant, pacer: context.pacer, stop: stopSending, feed: feed)
            }
            if let deadline {
                group.addTask {
                    try? await Task.sleep(until: deadline, tolerance: .zero, clock: .continuous)
                    feed.yield(.deadlineReached)
                }
            }
            loop: for await input in inputs {
                switch input {
                case .observed(.sent(let sequence, let instant)):
                    tracker.sent(sequence, at: instant)
                    group.addTask {
                        try? await Task.sleep(until: instant + plan.timeout, tolerance: .zero, clock: .continuous)
                        feed.yield(.timedOut(sequence))
                    }
                case .sendFailed(let sequence, let code):
                    events(tracker.sendFailed(sequence, code: code))
                case .observed(let observation):
                    for event in tracker.observe(observation) { events(event) }
                case .timedOut(let sequence):
                    if let event = tracker.timedOut(sequence) { events(event) }
                case .allSent:
                    tracker.allSent = true
                case .deadlineReached:
                    break loop
                }
                if tracker.enoughReplies { stopSending.raise() }
                if tracker.isFinished { break loop }
            }
            stopSending.raise()
            group.cancelAll()
        }
        feed.finish()

        let summary = tracker.summary(start: startInstant)
        return ProbeReport(
            probe: Self.kind,
            target: request.target,
            address: destination.description,
            success: tracker.succeeded,
            startedAt: started,
            durationSeconds: (ContinuousClock.now - startInstant).inSeconds,
            parameters: request.parameters,
            summary: summary
        )
    }

    /// Sends on an absolute schedule (start + n × interval), so timer jitter does not accumulate.
    private static func sendRequests(
        session: EchoSession, plan: PingPlan, start: ContinuousClock.Instant, pacer: SendPacer?,
        stop: StopFlag, feed: AsyncStream<SessionInput>.Continuation
    ) async {
        var sequence = 1
        while !Task.isCancelled, !stop.isRaised {
            if let count = plan.count, plan.deadline == nil, sequence > count { break }
            let due = start + plan.interval * (sequence - 1)
            if due > .now {
                try? await Task.sleep(until: due, tolerance: .zero, clock: .continuous)
            }
            if let pacer { await pacer.waitForSlot() }
            guard !Task.isCancelled, !stop.isRaised else { break }
            if case .failed(let code) = session.send(sequence: sequence) {
                feed.yield(.sendFailed(sequence, code: code))
            }
            sequence += 1
        }
        feed.yield(.allSent)
    }
}

/// Tells the sending task to stop (the run is over, or enough replies arrived).
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// What the run loop of one ping reacts to.
enum SessionInput: Sendable {
    case sendFailed(Int, code: Int32)
    case observed(EchoObservation)
    case timedOut(Int)
    case allSent
    case deadlineReached
}
