import Foundation
import Testing

/// `sonde mtr` in the test network, side by side with Debian's mtr (mtr-tiny, ICMP, the same method) on the same
/// paths: client → router → echo over IPv4 and IPv6, and paths of its own (``RateLimitedPath``) through a router with
/// Linux's default ICMP rate limit and one that answers host unreachable.
@Suite(
    "sonde mtr: each hop's loss and times, as mtr -r shows them", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3))
)
struct MTRIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func hops(_ run: Sonde.Run) -> [[String: Any]] { run.summary["hops"] as? [[String: Any]] ?? [] }

    /// mtr's report on the same path: per hop row, the host column and the loss column, and Snt.
    func theirs(_ arguments: [String], in namespace: String? = nil) async throws -> [(host: String, loss: String, sent: Int)] {
        let output = try await Shell.captureAsync(["ip", "netns", "exec", namespace ?? network.client, "mtr", "-n", "-r"] + arguments).output
        return output.split(separator: "\n").filter { $0.contains(".|-- ") }.map { line in
            let fields = line.split(separator: " ")
            return (String(fields[1]), String(fields[fields.count - 7]), Int(fields[fields.count - 6]) ?? -1)
        }
    }

    @Test("two hops to the echo host over IPv4 and IPv6, the hops mtr -r lists; the report in mtr's own columns")
    func hopsToTheTarget() async throws {
        for (target, router, family) in [("10.77.2.2", "10.77.1.254", "-4"), ("fd00:77:2::2", "fd00:77:1::fe", "-6")] {
            let run = try await Sonde.run(["mtr", "--json", "-c", "3", "-i", "0.1", target], in: network.client)
            #expect(run.status == 0 && run.summary["reached"] as? Bool == true && run.summary["hopCount"] as? Int == 2, "\(run.output)")
            #expect(hops(run).map { $0["addresses"] as? [String] ?? [] } == [[router], [target]], "\(run.output)")
            #expect(hops(run).allSatisfy { $0["sent"] as? Int == 3 && $0["received"] as? Int == 3 && $0["lossPercent"] as? Double == 0 })
            // Every probe and every completed round streamed as it happened.
            #expect(run.events("probe").count == 6 && run.events("cycle").map { $0["cycle"] as? Int ?? 0 } == [1, 2, 3], "\(run.output)")
            let mtr = try await theirs([family, "-c", "3", "-i", "0.1", target])
            #expect(mtr.map(\.host) == [router, target] && mtr.allSatisfy { $0.loss == "0.0%" && $0.sent == 3 }, "mtr: \(mtr)")
        }
        // The text report beside mtr's: the same header, the same host and loss columns, to the character.
        let text = try await Sonde.run(["mtr", "-rwc", "2", "-i", "0.1", "10.77.2.2"], in: network.client)
        let mtr = try await Shell.captureAsync(["ip", "netns", "exec", network.client, "mtr", "-n", "-r", "-c", "2", "-i", "0.1", "10.77.2.2"]).output
        let (ours, their) = (text.output.split(separator: "\n").map(String.init), mtr.split(separator: "\n").map(String.init))
        #expect(ours.count == 4 && ours[0].hasPrefix("Start: ") && ours[0].count == their[0].count, "\(text.output)")
        let narrow = try await Sonde.run(["mtr", "-r", "-c", "2", "-i", "0.1", "10.77.2.2"], in: network.client)
        let rows = narrow.output.split(separator: "\n").map(String.init)
        #expect(rows.count == 4 && their.count == 4 && rows[1] == their[1], "ours:\n\(narrow.output)\nmtr:\n\(mtr)")
        for index in 2...3 { #expect(rows[index].prefix(39) == their[index].prefix(39) && rows[index].count == their[index].count) }
        #expect(ours[2].hasPrefix("  1.|-- 10.77.1.254  0.0%     2 "), "-w: the host column as wide as the longest: \(text.output)")
    }

    @Test("where the path stops: a router's !H ends it there, and the exit status says the target did not answer")
    func whereItStops() async throws {
        let path = try await RateLimitedPath(tag: "mtrh")
        defer { path.remove() }
        let run = try await Sonde.run(["mtr", "--json", "-c", "6", "-i", "0.5", "-m", "4", "-Z", "1", RateLimitedPath.unreachable], in: path.client)
        #expect(run.status == 1 && run.summary["reached"] as? Bool == false, "\(run.output)")
        let last = hops(run).last
        #expect(hops(run).count == 2 && last?["markers"] as? [String] == ["!H"], "\(run.output)")
        #expect(last?["addresses"] as? [String] == [RateLimitedPath.unreachableRouter], "\(run.output)")
        let text = try await Sonde.run(["mtr", "-c", "6", "-i", "0.5", "-m", "4", "-Z", "1", RateLimitedPath.unreachable], in: path.client)
        #expect(text.output.contains("  2.|-- 10.81.2.2 !H "), "\(text.output)")
        #expect(text.output.hasSuffix("\(RateLimitedPath.unreachable) did not answer: the path stops at hop 2\n"), "\(text.output)")
    }

    @Test("a router with Linux's default ICMP rate limit: mtr shows loss there, Sonde names it rate-limiting")
    func rateLimitingRouter() async throws {
        let path = try await RateLimitedPath(tag: "mtr")
        defer { path.remove() }
        // 20 rounds in a second: hop 1 may answer its burst of 6 and about one more; hops 2 and 3 all 20.
        let run = try await Sonde.run(["mtr", "--json", "-c", "20", "-i", "0.05", "-Z", "1", RateLimitedPath.target], in: path.client)
        #expect(run.status == 0, "\(run.output) \(run.error)")
        let received = hops(run).map { $0["received"] as? Int ?? -1 }
        #expect(received.count == 3 && received[0] >= 1 && received[0] < 20 && received[1] == 20 && received[2] == 20, "\(received)")
        #expect(hops(run).map { $0["rateLimiting"] as? Bool ?? false } == [true, false, false], "\(run.output)")
        // mtr, on the same path a moment later, shows the same silence as loss at hop 1 and none after it.
        let mtr = try await theirs(["-c", "20", "-i", "0.05", RateLimitedPath.target], in: path.client)
        #expect(mtr.count == 3 && mtr[0].host == RateLimitedPath.limitingRouter && mtr[0].loss != "0.0%", "mtr: \(mtr)")
        #expect(mtr.dropFirst().allSatisfy { $0.loss == "0.0%" }, "mtr: \(mtr)")
        let text = try await Sonde.run(["mtr", "-r", "-c", "20", "-i", "0.05", "-Z", "1", RateLimitedPath.target], in: path.client)
        #expect(text.output.contains("hop 1 answered ") && text.output.contains("it rate-limits its ICMP errors"), "\(text.output)")
    }

    @Test("on a terminal the table is redrawn in place each round; -r prints the report once")
    func liveOnATerminal() async throws {
        // script(1) gives sonde a pseudo-terminal as its standard output.
        let command = "ip netns exec \(network.client) \(Sonde.binary) mtr -c 2 -i 0.2 10.77.2.2"
        let live = try await Shell.captureAsync(["script", "-qec", command, "/dev/null"]).output
        #expect(live.components(separatedBy: "\u{1B}[H\u{1B}[2J").count == 3, "two redraws: \(live.debugDescription)")
        #expect(live.contains("round 2 of 2") && !live.contains("Start: "), "\(live)")
        let report = try await Shell.captureAsync(["script", "-qec", command.replacingOccurrences(of: " mtr ", with: " mtr -r "), "/dev/null"]).output
        #expect(!report.contains("\u{1B}[") && report.contains("Start: ") && report.contains("  2.|-- 10.77.2.2 "), "\(report)")
    }

    @Test("without privileges: ping sockets, the same hops")
    func unprivileged() async throws {
        let run = try await Sonde.run(["mtr", "--json", "-c", "2", "-i", "0.1", "10.77.2.2"], in: network.client, asUser: 65534)
        #expect(
            run.status == 0 && hops(run).map { $0["addresses"] as? [String] ?? [] } == [["10.77.1.254"], ["10.77.2.2"]], "\(run.output) \(run.error)")
    }

    @Test("over the API: the policy, the server's limits on rounds × interval, streaming, and /probe?module=mtr")
    func api() async throws {
        let server = try ServeIntegrationTests.Server(
            namespace: network.client, port: 18_317, arguments: ["--deny", "10.77.6.0/24", "--max-duration", "5"])
        try await server.waitUntilServing()
        let traced = try await server.request("POST", "/v1/probes/mtr", body: #"{"target": "10.77.2.2", "cycles": 2, "interval": 0.2}"#)
        #expect(traced.status == 200 && traced.object["success"] as? Bool == true, "\(traced.body)")
        let stream = try await server.request("GET", "/v1/probes/mtr?target=10.77.2.2&cycles=2&interval=0.2", accept: "application/x-ndjson")
        let types = stream.body.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["type"] as? String
        }
        #expect(types.first == "start" && types.filter { $0 == "cycle" }.count == 2 && types.last == "report", "\(stream.body)")
        let denied = try await server.request("POST", "/v1/probes/mtr", body: #"{"target": "10.77.6.9", "cycles": 2}"#)
        #expect(denied.status == 403, "\(denied.body)")
        let long = try await server.request("POST", "/v1/probes/mtr", body: #"{"target": "10.77.2.2", "cycles": 100, "interval": 1}"#)
        #expect(long.status == 400 && long.body.contains("longer than this server allows"), "\(long.body)")
        let metrics = try await server.request("GET", "/probe?module=mtr&target=10.77.2.2")
        #expect(
            metrics.body.contains("probe_success 1") && metrics.body.contains("probe_mtr_hops 2")
                && metrics.body.contains(#"probe_mtr_hop_loss_ratio{ttl="1"} 0"#) && metrics.body.contains(#"probe_mtr_hop_sent{ttl="2"} 5"#),
            "\(metrics.body)")
        _ = await server.terminate()
    }
}
