import FoundationEssentials
import SondeCore
import Testing

@testable import PingProbe
@testable import SondeICMP

@Suite("Ping accounting")
struct PingTrackerTests {
    static func plan(count: Int? = 3, deadline: Double? = nil, timeout: Double = 1) throws -> PingPlan {
        var values: [String: ParameterValue] = ["timeout": .number(timeout)]
        if let count { values["count"] = .integer(count) }
        if let deadline { values["deadline"] = .number(deadline) }
        return try PingPlan(PingProbe(engine: .open()).descriptor.validate(values))
    }

    static func reply(_ sequence: Int, rtt: Int = 500, duplicate: Bool = false) -> EchoObservation {
        .reply(
            EchoReply(
                sequence: sequence, from: .v4(IPv4Address(10, 0, 0, 1)), bytes: 64, ttl: 64, rttMicroseconds: rtt,
                duplicate: duplicate, differentAddress: false, truncated: false, wrongData: nil
            ))
    }

    @Test func everyRequestEndsExactlyOnce() throws {
        var tracker = PingTracker(target: "t", plan: try Self.plan())
        let now = ContinuousClock.now
        for sequence in 1...3 { _ = tracker.observe(.sent(sequence: sequence, at: now)) }
        tracker.allSent = true
        #expect(tracker.observe(Self.reply(1)).map(\.type) == ["reply"])
        #expect(tracker.observe(Self.reply(1, duplicate: true)).map(\.type) == ["duplicate"])
        #expect(tracker.timedOut(2)?.type == "timeout")
        // The reply to 2 arrives after its timeout: late, and still lost.
        #expect(tracker.observe(Self.reply(2, rtt: 1_500_000)).map(\.type) == ["late"])
        #expect(tracker.timedOut(1) == nil, "a replied request cannot also time out")
        #expect(!tracker.isFinished)
        _ = tracker.observe(
            .icmpError(sequence: 3, from: .v4(IPv4Address(10, 0, 0, 254)), family: .ipv4, type: 3, code: 1, mtu: 0, rttMicroseconds: 400))
        #expect(tracker.isFinished)
        let summary = tracker.summary(start: now)
        #expect(summary.transmitted == 3)
        #expect(summary.received == 1)
        #expect(summary.duplicates == 1)
        #expect(summary.late == 1)
        #expect(summary.errors == 1)
        #expect(abs(summary.lossPercent - 66.6667) < 0.001)
        #expect(summary.rtt?.samples == 1, "duplicates and late replies stay out of the RTT figures")
    }

    @Test func aReplySlowerThanTheTimeoutIsLateEvenBeforeTheTimerFires() throws {
        var tracker = PingTracker(target: "t", plan: try Self.plan(timeout: 0.5))
        _ = tracker.observe(.sent(sequence: 1, at: .now))
        #expect(tracker.observe(Self.reply(1, rtt: 600_000)).map(\.type) == ["late"])
        #expect(tracker.timedOut(1) == nil)
        #expect(tracker.summary(start: .now).received == 0)
    }

    @Test func withCountAndDeadlineCountMeansReplies() throws {
        var tracker = PingTracker(target: "t", plan: try Self.plan(count: 2, deadline: 10))
        for sequence in 1...3 { _ = tracker.observe(.sent(sequence: sequence, at: .now)) }
        _ = tracker.observe(Self.reply(1))
        #expect(!tracker.enoughReplies && !tracker.succeeded)
        _ = tracker.observe(Self.reply(3))
        #expect(tracker.enoughReplies && tracker.succeeded && tracker.isFinished)
    }

    @Test func sendFailuresAreErrorsNotSilentLoss() throws {
        var tracker = PingTracker(target: "t", plan: try Self.plan(count: 1))
        let event = tracker.sendFailed(1, code: 101)
        tracker.allSent = true
        #expect(event.type == "send_error" && event.errno == "ENETUNREACH")
        let summary = tracker.summary(start: .now)
        #expect(summary.transmitted == 0 && summary.errors == 1 && summary.lossPercent == 100)
        #expect(!tracker.succeeded)
    }
}

@Suite("Ping text output")
struct PingTextTests {
    @Test(arguments: [
        (123, "0.123"), (1234, "1.23"), (1235, "1.24"), (9994, "9.99"), (9995, "10.0"), (99_949, "99.9"), (99_950, "100"), (1_503_157, "1503"),
    ])
    func replyTimesRoundLikeIputils(microseconds: Int, text: String) {
        #expect(PingTextRenderer.pingTime(microseconds: microseconds) == text)
    }

    @Test func statisticsBlockReadsLikePing() throws {
        let renderer = PingTextRenderer(options: .init())
        var summary = PingSummary()
        summary.transmitted = 3
        summary.received = 2
        summary.duplicates = 1
        summary.lossPercent = 100.0 / 3
        summary.timeMs = 2002
        summary.rtt = RTTStatistics(microseconds: [327, 55]).summary
        let report = ProbeReport(
            probe: "ping", target: "db", address: "10.0.0.7", success: true, startedAt: .init(timeIntervalSince1970: 0),
            durationSeconds: 2, parameters: .init(), summary: summary
        )
        #expect(
            renderer.lines(for: report).map(\.text) == [
                "",
                "--- db ping statistics ---",
                "3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 2002ms",
                "rtt min/avg/max/mdev = 0.055/0.191/0.327/0.136 ms",
            ])
        var start = PingEvent(.start, target: "db")
        start.address = "10.0.0.7"
        start.dataBytes = 56
        #expect(renderer.lines(for: start).map(\.text) == ["PING db (10.0.0.7) 56(84) bytes of data."])
        var reply = PingEvent(.duplicate, target: "db", seq: 1)
        reply.from = "10.0.0.7"
        reply.bytes = 64
        reply.ttl = 63
        reply.rttMs = 7.01
        #expect(renderer.lines(for: reply).map(\.text) == ["64 bytes from db (10.0.0.7): icmp_seq=1 ttl=63 time=7.01 ms (DUP!)"])
    }
}
