import SondeCore
import Synchronization
import Testing

@testable import PingProbe
@testable import SondeICMP

#if canImport(Glibc)
    import Glibc
#endif

/// The shared engine on loopback: many runs at once over one socket per family, wrap-around, cancellation.
/// These need an ICMP socket: root (or CAP_NET_RAW), or an open `ping_group_range`.
@Suite("ICMP engine on loopback", .enabled(if: LoopbackICMP.available, LoopbackICMP.skipReason))
struct EngineTests {
    static func request(_ target: String, _ values: [String: ParameterValue]) throws -> ProbeRequest {
        let probe = PingProbe(engine: .open())
        return ProbeRequest(target: target, parameters: try probe.descriptor.validate(values))
    }

    @Test func manyConcurrentRunsShareOneSocketPerFamily() async throws {
        let engine = ICMPEngine.open()
        let probe = PingProbe(engine: engine)
        let targets = (1...40).map { "127.0.0.\($0)" } + ["::1"]
        let reports = try await withThrowingTaskGroup(of: ProbeReport<PingSummary>.self) { group in
            for target in targets {
                let request = try Self.request(target, ["count": .integer(3), "interval": .number(0.01)])
                group.addTask { try await probe.run(request, context: .init()) { _ in } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.count == targets.count)
        for report in reports {
            #expect(report.summary.transmitted == 3, "\(report.target)")
            #expect(report.summary.received == 3, "\(report.target)")
            #expect(report.summary.duplicates == 0, "\(report.target)")
            #expect(report.success)
        }
        #expect(engine.openSocketCount == 2)
    }

    @Test func sequenceNumbersWrapPast65535WithoutLossOrDuplicates() async throws {
        let engine = ICMPEngine(mode: nil, firstCounter: 65_530)
        let probe = PingProbe(engine: engine)
        let request = try Self.request("127.0.0.1", ["count": .integer(12), "interval": .number(0.005)])
        let report = try await probe.run(request, context: .init()) { _ in }
        #expect(report.summary.received == 12)
        #expect(report.summary.duplicates == 0 && report.summary.late == 0)
        #expect(engine.nextCounter(for: .ipv4) == 65_542, "the wire sequence went 65530…65535, 0…5")
    }

    @Test func cancellationEndsTheRunWithAReportOfEverythingSent() async throws {
        let probe = PingProbe(engine: .open())
        let request = try Self.request("127.0.0.1", ["interval": .number(0.01)])
        let log = EventLog()
        let run = Task { try await probe.run(request, context: .init()) { log.append($0) } }
        // Let a few replies arrive (bounded: 5 s), then interrupt.
        for _ in 0..<500 where log.events.filter({ $0.type == "reply" }).count < 4 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let repliesBeforeCancel = log.events.filter { $0.type == "reply" }.count
        let cancelled = ContinuousClock.now
        run.cancel()
        let report = try await run.value
        #expect(ContinuousClock.now - cancelled < .seconds(2))
        #expect(repliesBeforeCancel >= 4)
        #expect(report.summary.received >= repliesBeforeCancel)
        #expect(report.summary.transmitted >= report.summary.received)
        #expect(report.summary.transmitted <= report.summary.received + 2, "only requests in flight at the interrupt are lost")
    }

    @Test func theCallersDeadlineBoundsAnEndlessRun() async throws {
        let probe = PingProbe(engine: .open())
        let request = try Self.request("::1", ["interval": .number(0.05)])
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(300)
        // When sending began, as seen from here (the start event comes right after the session opens): the
        // count is judged from then, not from before the run, which a loaded machine may start late.
        let sendingSeen = Mutex<ContinuousClock.Instant?>(nil)
        let report = try await probe.run(request, context: .init(deadline: deadline)) { event in
            if event.type == "start" { sendingSeen.withLock { $0 = .now } }
        }
        let elapsed = ContinuousClock.now - started
        // The engine's thread sends on time whatever the load; the reading task may be scheduled late.
        #expect(elapsed >= .milliseconds(280) && elapsed < .seconds(10))
        let first = try #require(sendingSeen.withLock { $0 })
        let interval = Duration.milliseconds(50)
        let fewest = max(0, Int((deadline - first) / interval))  // requests at 0, 50 … ms from the first, until the deadline
        let most = Int((deadline - started) / interval) + 1
        #expect((fewest...most).contains(report.summary.transmitted), "\(report.summary.transmitted) sent, expected \(fewest)…\(most)")
    }

    @Test func eventsArriveInOrderAndMatchTheReport() async throws {
        let probe = PingProbe(engine: .open())
        let request = try Self.request("127.0.0.1", ["count": .integer(4), "interval": .number(0.01), "size": .integer(1)])
        let collected = EventLog()
        let report = try await probe.run(request, context: .init()) { collected.append($0) }
        let events = collected.events
        #expect(events.first?.type == "start")
        #expect(events.filter { $0.type == "reply" }.compactMap(\.seq) == [1, 2, 3, 4])
        #expect(events.filter { $0.type == "reply" }.allSatisfy { $0.bytes == 9 && $0.rttMs != nil })
        #expect(report.summary.received == 4)
    }
}

final class EventLog: Sendable {
    private let storage = Mutex<[PingEvent]>([])
    func append(_ event: PingEvent) { storage.withLock { $0.append(event) } }
    var events: [PingEvent] { storage.withLock { $0 } }
}

enum LoopbackICMP {
    static let available: Bool = {
        if case .success = ICMPEngine.open().mode(for: .ipv4) { return true }
        return false
    }()
    static let skipReason: Comment = "needs an ICMP socket: run as root, with CAP_NET_RAW, or with net.ipv4.ping_group_range open"
}
