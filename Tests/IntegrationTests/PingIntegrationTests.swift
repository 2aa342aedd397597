import Foundation
import Testing

/// `sonde ping` end to end: the real binary in a client namespace, against a kernel that answers, a router
/// with unreachable/prohibit/blackhole routes, and a responder that injects faults — over IPv4 and IPv6.
@Suite("sonde ping across a test network", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct PingIntegrationTests {
    enum Family: String, CaseIterable, CustomTestStringConvertible {
        case v4, v6
        var testDescription: String { rawValue }
        func echo() -> String { self == .v4 ? "10.77.2.2" : "fd00:77:2::2" }
        func fault(_ number: Int) -> String { self == .v4 ? "10.77.3.\(number)" : "fd00:77:3::\(number)" }
        var routerAddress: String { self == .v4 ? "10.77.1.254" : "fd00:77:1::fe" }
        func routed(_ subnet: Int) -> String { self == .v4 ? "10.77.\(subnet).1" : "fd00:77:\(subnet)::1" }
    }

    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func ping(_ target: String, _ options: String...) async throws -> Sonde.Run {
        try await Sonde.run(["ping", "--json", "-i", "0.05"] + options + [target], in: network.client)
    }

    @Test(arguments: Family.allCases)
    func aHostThatAnswers(_ family: Family) async throws {
        let run = try await ping(family.echo(), "-c", "4")
        #expect(run.status == 0, "\(run.error)")
        #expect(run.count("transmitted") == 4)
        #expect(run.count("received") == 4)
        #expect(run.report?["success"] as? Bool == true)
        #expect(run.events("start").first?["socket"] as? String == "raw")
        let replies = run.events("reply")
        #expect(replies.compactMap { $0["seq"] as? Int } == [1, 2, 3, 4])
        // One router hop: TTL / hop limit 63, from the kernel's reply via control message or IP header.
        #expect(replies.allSatisfy { $0["ttl"] as? Int == 63 && $0["from"] as? String == family.echo() })
        #expect(replies.allSatisfy { ($0["rttMs"] as? Double ?? -1) > 0 })
    }

    @Test(arguments: Family.allCases)
    func textOutputReadsLikePing(_ family: Family) async throws {
        let run = try await Sonde.run(["ping", "-c", "2", "-i", "0.05", family.echo()], in: network.client)
        let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = family == .v4 ? "PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data." : "PING fd00:77:2::2 (fd00:77:2::2) 56 data bytes"
        #expect(lines.first == header)
        #expect(lines[1].hasPrefix("64 bytes from \(family.echo()): icmp_seq=1 ttl=63 time="))
        #expect(lines.contains("--- \(family.echo()) ping statistics ---"))
        #expect(lines.contains { $0.hasPrefix("2 packets transmitted, 2 received, 0% packet loss, time ") })
        #expect(lines.contains { $0.hasPrefix("rtt min/avg/max/mdev = ") && $0.hasSuffix(" ms") })
    }

    @Test(arguments: Family.allCases)
    func unansweredRequestsArePrintedOnlyWithDashO(_ family: Family) async throws {
        // Odd sequence numbers get no reply: as iputils, a line for the unanswered request only with -O.
        let plain = try await Sonde.run(["ping", "-c", "2", "-i", "0.05", "-W", "0.3", family.fault(17)], in: network.client)
        #expect(plain.output.contains("2 packets transmitted, 1 received, 50% packet loss"), "\(plain.output)")
        #expect(!plain.output.contains("no answer yet"), "\(plain.output)")
        let outstanding = try await Sonde.run(["ping", "-O", "-c", "2", "-i", "0.05", "-W", "0.3", family.fault(17)], in: network.client)
        // The responder drops odd wire sequence numbers, which are socket-wide: either request may be the one.
        let unanswered = outstanding.output.split(separator: "\n").filter { $0.hasPrefix("no answer yet for icmp_seq=") }
        #expect(unanswered.count == 1, "\(outstanding.output)")
        #expect(outstanding.output.contains("2 packets transmitted, 1 received, 50% packet loss"), "\(outstanding.output)")
    }

    @Test(arguments: Family.allCases)
    func duplicatesAreReportedAndNotCounted(_ family: Family) async throws {
        // The run ends once every request is answered (as iputils does), so copies of the last reply may
        // come after it: every earlier request's copies must have been seen.
        let run = try await ping(family.fault(11), "-c", "4")
        #expect(run.count("received") == 4)
        #expect((3...4).contains(run.count("duplicates")))
        #expect(run.events("duplicate").count == run.count("duplicates"))
        #expect(run.events("duplicate").compactMap { $0["seq"] as? Int }.prefix(3) == [1, 2, 3])
        // Copies 5 and 10 ms after each reply; requests 300 ms apart, so a slow responder on a loaded machine
        // still gets every copy but the last request's in before the run ends.
        let triple = try await Sonde.run(["ping", "--json", "-i", "0.3", "-c", "3", family.fault(28)], in: network.client)
        #expect(triple.count("received") == 3)
        #expect((4...6).contains(triple.count("duplicates")), "\(triple.output)")
        #expect(triple.events("duplicate").filter { $0["seq"] as? Int == 1 }.count == 2, "both copies of the first reply")
        #expect(triple.status == 0)
    }

    @Test func badChecksumsOverIPv4AreCorruptedNeverReceived() async throws {
        let run = try await ping(Family.v4.fault(12), "-c", "3", "-W", "0.3")
        #expect(run.count("received") == 0)
        #expect(run.count("corrupted") == 3)
        #expect(run.status == 1)
        // A bad copy followed by a good one: the good one is the reply, not a duplicate.
        let mixed = try await ping(Family.v4.fault(20), "-c", "3")
        #expect(mixed.count("received") == 3)
        #expect(mixed.count("corrupted") == 3)
        #expect(mixed.count("duplicates") == 0)
    }

    @Test func badChecksumsOverIPv6AreDroppedByTheKernelAsPlainLoss() async throws {
        let sentBefore = network.responderSent(fault: 12, family: 6)
        let run = try await ping(Family.v6.fault(12), "-c", "2", "-W", "0.3")
        #expect(network.responderSent(fault: 12, family: 6) >= sentBefore + 2, "the responder did send the bad replies")
        #expect(run.count("received") == 0)
        #expect(run.count("corrupted") == 0)
        #expect(run.events("timeout").count == 2)
        #expect(run.status == 1)
    }

    @Test(arguments: Family.allCases)
    func corruptedDataIsFlaggedWithOffsetExpectedAndActual(_ family: Family) async throws {
        let run = try await ping(family.fault(13), "-c", "2")
        #expect(run.count("received") == 2)
        let wrong = run.events("reply").compactMap { $0["wrongData"] as? [String: Int] }
        #expect(wrong.count == 2)
        #expect(wrong.allSatisfy { $0["offset"] == 20 && $0["expected"] == 20 && $0["actual"] == 20 ^ 0xff })
        let text = try await Sonde.run(["ping", "-c", "1", family.fault(13)], in: network.client)
        #expect(text.output.contains("wrong data byte #20 should be 0x14 but was 0xeb"))
    }

    @Test(arguments: Family.allCases)
    func aCorruptedTagIsStillOurReplyWhenItComesFromTheTarget(_ family: Family) async throws {
        let run = try await ping(family.fault(25), "-c", "2")
        #expect(run.count("received") == 2)
        #expect(run.events("reply").allSatisfy { ($0["wrongData"] as? [String: Int])?["offset"] == 0 })
    }

    @Test(arguments: Family.allCases)
    func lateRepliesAreReportedLateAndStayLost(_ family: Family) async throws {
        // Replies come 1.5 s after each request; the run lasts until request 3 times out at 2.5 s, so the
        // replies to 1 (at 1.5 s) and maybe 2 (at 2.5 s) arrive while it runs.
        let run = try await ping(family.fault(14), "-c", "3", "-i", "1", "-W", "0.5")
        #expect(run.count("received") == 0)
        #expect(run.count("late") >= 1)
        #expect(run.events("timeout").count == 3)
        let lateSequences = run.events("late").compactMap { $0["seq"] as? Int }
        #expect(lateSequences.first == 1)
        #expect(Set(lateSequences).isSubset(of: [1, 2]))
        #expect(run.events("late").allSatisfy { ($0["rttMs"] as? Double ?? 0) > 1400 })
        #expect(run.status == 1)
    }

    @Test(arguments: Family.allCases)
    func repliesFromAnotherAddressAreFlagged(_ family: Family) async throws {
        let run = try await ping(family.fault(15), "-c", "2")
        #expect(run.count("received") == 2)
        let other = family == .v4 ? "10.77.3.153" : "fd00:77:3::99"
        #expect(run.events("reply").allSatisfy { $0["differentAddress"] as? Bool == true && $0["from"] as? String == other })
        let text = try await Sonde.run(["ping", "-c", "1", family.fault(15)], in: network.client)
        #expect(text.output.contains("(DIFFERENT ADDRESS!)"))
    }

    @Test(arguments: Family.allCases)
    func truncatedAndHeaderOnlyRepliesAreTimedFromTheProbeTable(_ family: Family) async throws {
        let truncated = try await ping(family.fault(16), "-c", "2")
        #expect(truncated.count("received") == 2)
        #expect(truncated.events("reply").allSatisfy { $0["truncated"] as? Bool == true && $0["bytes"] as? Int == 44 })
        let bare = try await ping(family.fault(24), "-c", "2")
        #expect(bare.count("received") == 2)
        #expect(bare.events("reply").allSatisfy { $0["bytes"] as? Int == 8 && ($0["rttMs"] as? Double ?? -1) >= 0 })
        let rtt = bare.summary["rtt"] as? [String: Double]
        #expect((rtt?["maxMs"] ?? 1e9) < 1000, "no sentinel in the statistics")
    }

    @Test(arguments: Family.allCases)
    func smallPayloadsAreStillMatchedAndTimed(_ family: Family) async throws {
        for size in ["0", "7", "8", "15"] {
            let run = try await ping(family.echo(), "-c", "2", "-s", size)
            #expect(run.count("received") == 2, "size \(size)")
            #expect(run.events("reply").allSatisfy { $0["bytes"] as? Int == 8 + Int(size)! && $0["rttMs"] != nil })
        }
    }

    @Test(arguments: Family.allCases)
    func everyOtherReplyMissing(_ family: Family) async throws {
        let run = try await ping(family.fault(17), "-c", "4", "-W", "0.3")
        #expect(run.count("transmitted") == 4)
        #expect(run.count("received") == 2)
        #expect(run.events("timeout").count == 2)
        #expect(run.summary["lossPercent"] as? Double == 50)
        #expect(run.status == 0)
    }

    @Test(arguments: Family.allCases)
    func foreignIdentifiersAndNeverSentSequencesAreIgnored(_ family: Family) async throws {
        for fault in [18, 19] {
            let sentBefore = network.responderSent(fault: fault, family: family == .v4 ? 4 : 6)
            let run = try await ping(family.fault(fault), "-c", "2", "-W", "0.3")
            #expect(
                network.responderSent(fault: fault, family: family == .v4 ? 4 : 6) >= sentBefore + 2,
                "fault \(fault): the responder did send the replies that must be ignored"
            )
            #expect(run.count("received") == 0, "fault \(fault)")
            #expect(run.count("duplicates") == 0, "fault \(fault)")
            #expect(run.status == 1)
        }
    }

    @Test(arguments: Family.allCases)
    func errorsFromTheTargetItself(_ family: Family) async throws {
        let unreachable = try await ping(family.fault(21), "-c", "2", "-W", "0.5")
        #expect(unreachable.count("errors") == 2)
        #expect(unreachable.count("received") == 0)
        let messages = unreachable.events("icmp_error").compactMap { $0["message"] as? String }
        let expected = family == .v4 ? "Destination Host Unreachable" : "Destination unreachable: Address unreachable"
        #expect(messages == [expected, expected])
        #expect(unreachable.events("icmp_error").allSatisfy { $0["from"] as? String == family.fault(21) })
        #expect(unreachable.status == 1)
        let exceeded = try await ping(family.fault(22), "-c", "1")
        #expect(exceeded.events("icmp_error").first?["message"] as? String == (family == .v4 ? "Time to live exceeded" : "Time exceeded: Hop limit"))
    }

    @Test(arguments: Family.allCases)
    func timeExceededFromTheFirstRouter(_ family: Family) async throws {
        let run = try await ping(family.echo(), "-c", "2", "-t", "1")
        let errors = run.events("icmp_error")
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { $0["from"] as? String == family.routerAddress })
        #expect(run.count("errors") == 2)
        let text = try await Sonde.run(["ping", "-c", "1", "-t", "1", family.echo()], in: network.client)
        let expected = family == .v4 ? "From 10.77.1.254 icmp_seq=1 Time to live exceeded" : "From fd00:77:1::fe icmp_seq=1 Time exceeded: Hop limit"
        #expect(text.output.contains(expected))
        #expect(text.output.contains("1 packets transmitted, 0 received, +1 errors, 100% packet loss"))
    }

    @Test(arguments: Family.allCases)
    func unreachableAndProhibitedRoutes(_ family: Family) async throws {
        // Routers rate-limit these errors (IPv4: one a second per source after the first second), so
        // requests go 1.1 s apart and not every one gets its error.
        let source = family == .v4 ? ["-I", "10.77.1.3"] : []  // a source of its own: the limit is per source
        let unreachable = try await Sonde.run(["ping", "--json", "-c", "3", "-i", "1.1"] + source + [family.routed(5)], in: network.client)
        let prohibited = try await Sonde.run(["ping", "--json", "-c", "3", "-i", "1.1"] + source + [family.routed(6)], in: network.client)
        switch family {
        case .v4:
            #expect(unreachable.events("icmp_error").first?["message"] as? String == "Destination Host Unreachable")
            #expect(prohibited.events("icmp_error").first?["message"] as? String == "Packet filtered")
        case .v6:
            #expect(unreachable.events("icmp_error").first?["message"] as? String == "Destination unreachable: No route")
            #expect(prohibited.events("icmp_error").first?["message"] as? String == "Destination unreachable: Administratively prohibited")
        }
        for run in [unreachable, prohibited] {
            #expect(run.events("icmp_error").allSatisfy { $0["from"] as? String == family.routerAddress })
            #expect(run.count("errors") >= 1)
            #expect(run.count("errors") + run.events("timeout").count == 3, "each request ends once")
            #expect(run.status == 1)
        }
    }

    @Test(arguments: Family.allCases)
    func aBlackholeTimesOutAndTheRunEnds(_ family: Family) async throws {
        let started = Date()
        let run = try await ping(family.routed(7), "-c", "3", "-W", "0.4")
        #expect(run.events("timeout").count == 3)
        #expect(run.count("received") == 0)
        #expect(run.status == 1)
        #expect(Date().timeIntervalSince(started) < 15, "bounded by count × interval + timeout, not by any linger")
        let deadline = try await ping(family.routed(7), "-w", "0.6")
        #expect(deadline.status == 1)
        #expect(deadline.count("transmitted") >= 10)
    }

    @Test func datagramSocketsWhenUnprivilegedAndPingGroupRangeIsOpen() async throws {
        for family in Family.allCases {
            let run = try await Sonde.run(["ping", "--json", "-c", "2", "-i", "0.05", family.echo()], in: network.client, asUser: 65534)
            #expect(run.status == 0, "\(run.error)")
            #expect(run.events("start").first?["socket"] as? String == "datagram")
            #expect(run.count("received") == 2)
            #expect(run.events("reply").allSatisfy { $0["ttl"] as? Int == 63 })
            // Errors reach a ping socket only through its error queue.
            let exceeded = try await Sonde.run(["ping", "--json", "-c", "1", "-t", "1", family.echo()], in: network.client, asUser: 65534)
            #expect(exceeded.events("icmp_error").first?["from"] as? String == family.routerAddress)
            // Requests 300 ms apart: each copy (5 ms after its reply) is in before the next reply on a loaded machine too.
            let faults = try await Sonde.run(["ping", "--json", "-c", "3", "-i", "0.3", family.fault(11)], in: network.client, asUser: 65534)
            #expect(faults.count("received") == 3 && faults.count("duplicates") >= 2, "\(faults.output)")
        }
    }

    @Test func withoutPrivilegeOrPingSocketsOneClearErrorNamesBothFixes() async throws {
        // The router namespace keeps the fresh default ping_group_range "1 0".
        let run = try await Sonde.run(["ping", "-c", "1", "10.77.1.1"], in: network.router, asUser: 65534)
        #expect(run.status == 2)
        #expect(run.output.isEmpty)
        #expect(run.error.contains("CAP_NET_RAW"))
        #expect(run.error.contains("ping_group_range"))
        #expect(run.error.split(separator: "\n").count == 1)
    }

    @Test func severalTargetsAtOnceOverTheSharedSocket() async throws {
        let targets = [Family.v4.echo(), Family.v6.echo(), Family.v4.fault(10), Family.v6.fault(10), Family.v4.fault(11), Family.v4.routed(7)]
        let run = try await Sonde.run(["ping", "--json", "-c", "3", "-i", "0.05", "-W", "0.5"] + targets, in: network.client)
        let reports = run.events("report")
        #expect(reports.count == targets.count)
        for report in reports {
            let target = report["target"] as? String ?? ""
            let received = (report["summary"] as? [String: Any])?["received"] as? Int
            #expect(received == (target == Family.v4.routed(7) ? 0 : 3), "\(target)")
        }
        #expect(run.status == 1, "one target never answered")
        let text = try await Sonde.run(["ping", "-q", "-c", "2", "-i", "0.05", Family.v4.echo(), Family.v6.echo()], in: network.client)
        #expect(text.status == 0)
        #expect(text.output.contains("10.77.2.2    : xmt/rcv/%loss = 2/2/0%, min/avg/max = "))
        #expect(text.output.contains("fd00:77:2::2 : xmt/rcv/%loss = 2/2/0%, min/avg/max = "))
    }

    @Test func interruptPrintsTheStatisticsOnce() async throws {
        let ping = try Spawned(["/usr/sbin/ip", "netns", "exec", network.client, Sonde.binary, "ping", "-i", "0.1", Family.v4.echo()])
        // Interrupted once it has been seen pinging, not after a guessed delay.
        await ping.waitForOutput(containing: "icmp_seq=3 ")
        ping.signal(SIGINT)
        let status = await ping.wait(timeout: 10)
        let text = ping.output.value
        #expect(status == 0, "\(ping.errors.value)")
        #expect(text.components(separatedBy: "ping statistics ---").count == 2)
        let transmitted =
            text.split(separator: "\n").first { $0.contains("packets transmitted") }
            .flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        #expect(transmitted >= 3, "the statistics count what was seen sent: \(text)")
    }

    @Test func sourceAddressAndInterfaceSelection() async throws {
        let bySource = try await ping(Family.v4.echo(), "-c", "1", "-I", "10.77.1.1")
        #expect(bySource.count("received") == 1)
        let byDevice = try await ping(Family.v6.echo(), "-c", "1", "-I", "c0")
        #expect(byDevice.count("received") == 1)
        let foreign = try await Sonde.run(["ping", "-c", "1", "-I", "10.77.2.2", Family.v4.echo()], in: network.client)
        #expect(foreign.status == 2)
        #expect(
            foreign.error
                == "sonde: invalid value '10.77.2.2' for -I/--interface: expected an address of this host (Cannot assign requested address)\n")
    }

    @Test func hostNamesHonourTheFamilyAndAreShownWithTheAddress() async throws {
        let v4 = try await Sonde.run(["ping", "-c", "1", "-4", "dual.test"], in: network.client)
        #expect(v4.status == 0)
        #expect(v4.output.hasPrefix("PING dual.test (10.77.2.2) 56(84) bytes of data.\n64 bytes from dual.test (10.77.2.2): icmp_seq=1 ttl=63 time="))
        let v6 = try await ping("dual.test", "-c", "1", "-6")
        #expect(v6.events("start").first?["address"] as? String == "fd00:77:2::2")
        #expect(v6.count("received") == 1)
        let missing = try await Sonde.run(["ping", "-c", "1", "-4", "v6only.test"], in: network.client)
        #expect(missing.status == 2)
        // glibc falls through to DNS for the missing A record; its words vary with the resolver set-up.
        #expect(missing.error.hasPrefix("sonde: cannot resolve 'v6only.test': "))
        #expect(missing.error.split(separator: "\n").count == 1)
    }

    @Test func linkLocalTargetsWithAZone() async throws {
        let router = try network.linkLocal(network.router, "r0")
        let zoned = try await ping("\(router)%c0", "-c", "2")
        #expect(zoned.count("received") == 2)
        #expect(zoned.events("reply").allSatisfy { ($0["from"] as? String)?.hasPrefix(router) == true })
        // A ping socket cannot send to a link-local address without a zone: reported, never counted as sent.
        let unzoned = try await Sonde.run(["ping", "--json", "-c", "2", "-i", "0.05", router], in: network.client, asUser: 65534)
        #expect(unzoned.events("send_error").count == 2)
        #expect(unzoned.events("send_error").allSatisfy { $0["errno"] as? String == "EINVAL" })
        #expect(unzoned.count("transmitted") == 0)
        #expect(unzoned.count("errors") == 2)
        #expect(unzoned.status == 1)
    }

    @Test(arguments: Family.allCases)
    func pathMTUErrorsCarryTheMTU(_ family: Family) async throws {
        // r1 (router → echo host) has MTU 1400; a 1500-byte packet with don't-fragment cannot pass. The
        // target address is used by this test alone, so the kernel has not learnt its path MTU yet.
        let target = family == .v4 ? "10.77.2.3" : "fd00:77:2::3"
        let run = try await ping(target, "-c", "3", "-i", "0.2", "-M", "do", "-s", family == .v4 ? "1472" : "1452", "-W", "0.5")
        #expect(run.count("received") == 0)
        let errors = run.events("icmp_error")
        let local = run.events("send_error")
        #expect(errors.count >= 1)
        #expect(errors.allSatisfy { $0["mtu"] as? Int == 1400 && $0["from"] as? String == family.routerAddress })
        let message = family == .v4 ? "Frag needed and DF set (mtu = 1400)" : "Packet too big: mtu=1400"
        #expect(errors.first?["message"] as? String == message)
        // Once the kernel has learnt the path MTU, later sends fail locally with EMSGSIZE: surfaced, not lost.
        #expect(!local.isEmpty, "a later send failed locally: \(run.output)")
        #expect(local.allSatisfy { $0["errno"] as? String == "EMSGSIZE" })
        #expect(run.count("errors") == errors.count + local.count)
        // A size that fits still goes through the same don't-fragment socket.
        let fits = try await ping(target, "-c", "1", "-M", "do", "-s", family == .v4 ? "1372" : "1352")
        #expect(fits.count("received") == 1)
    }

    @Test(arguments: Family.allCases)
    func largestAndOddPayloads(_ family: Family) async throws {
        // Fragmented requests; the first large one may be lost while the kernel learns the 1400-byte path MTU
        // (IPv6 routers never fragment), so three are sent and two must come back whole.
        let largest = family == .v4 ? "65507" : "65527"
        for size in ["57", "1473", largest] {
            let run = try await ping(family.echo(), "-c", "3", "-i", "0.2", "-W", "1", "-s", size)
            #expect(run.count("received") >= 2, "size \(size)")
            #expect(run.events("reply").allSatisfy { $0["bytes"] as? Int == Int(size)! + 8 && $0["wrongData"] == nil })
        }
    }
}
