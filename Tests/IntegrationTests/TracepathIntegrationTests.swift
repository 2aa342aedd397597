import Foundation
import Testing

/// `sonde tracepath` on paths of its own with a narrower link in the middle (``NarrowLinkPath``), over IPv4 and
/// IPv6, side by side with Debian's tracepath (iputils-tracepath): the same path MTU and hops where the routers say
/// "fragmentation needed"; where one drops it (a PMTU black hole), Sonde names the hole and the size that passes, and
/// reaches the target, where tracepath sees only silence.
@Suite(
    "sonde tracepath: the path MTU, and black holes tracepath cannot see", .enabled(if: TestNetwork.available, TestNetwork.skipReason),
    .timeLimit(.minutes(3)))
struct TracepathIntegrationTests {
    init() async throws { _ = try await TestNetwork.get() }

    func hops(_ run: Sonde.Run) -> [[String: Any]] { run.summary["hops"] as? [[String: Any]] ?? [] }

    /// Debian's tracepath on the same path: its lines, numeric.
    func theirs(_ arguments: [String], in namespace: String) async throws -> [String] {
        try await Shell.captureAsync(["ip", "netns", "exec", namespace, "tracepath", "-n"] + arguments, timeout: 90).output
            .split(separator: "\n").map(String.init)
    }

    @Test("a narrower link: the router before it says so at hop 2, as tracepath shows; the same Resume line, both families")
    func narrowerLink() async throws {
        let path = try await NarrowLinkPath(tag: "n")
        defer { path.remove() }
        for (target, router, family) in [
            (NarrowLinkPath.target.v4, NarrowLinkPath.firstRouterAddress.v4, "-4"),
            (NarrowLinkPath.target.v6, NarrowLinkPath.firstRouterAddress.v6, "-6"),
        ] {
            // tracepath first, on a path the client has not learned: it finds the 1400 at hop 2 and the kernel
            // caches it. Sonde starts from the link's MTU whatever the cache says, so it finds it again.
            let tracepath = try await theirs([family, target], in: path.client)
            #expect(tracepath.first?.hasSuffix("pmtu 1500") == true, "tracepath: \(tracepath)")
            #expect(tracepath.contains { $0.hasPrefix(" 2:  \(router) ") && $0.hasSuffix("pmtu 1400") }, "tracepath: \(tracepath)")
            #expect(tracepath.contains { $0.hasPrefix(" 3:  \(target) ") && $0.hasSuffix("reached") }, "tracepath: \(tracepath)")
            let resume = try #require(tracepath.last { $0.hasPrefix("     Resume: ") }, "tracepath: \(tracepath)")

            let run = try await Sonde.run(["tracepath", "--json", family, target], in: path.client)
            #expect(run.status == 0 && run.summary["reached"] as? Bool == true, "\(run.output) \(run.error)")
            #expect(run.summary["linkMTU"] as? Int == 1500 && run.summary["pmtu"] as? Int == 1400 && run.summary["hopCount"] as? Int == 3)
            let told = hops(run).map { "\($0["ttl"] as? Int ?? 0) \($0["from"] as? String ?? "-") \($0["pmtu"] as? Int ?? 0)" }
            #expect(
                told
                    == ["1 \(router) 0", "2 \(router) 1400", "2 \(NarrowLinkPath.secondRouterAddress.v4) 0", "3 \(target) 0"].map {
                        family == "-6"
                            ? $0.replacingOccurrences(of: NarrowLinkPath.secondRouterAddress.v4, with: NarrowLinkPath.secondRouterAddress.v6) : $0
                    }, "\(run.output)")
            #expect(run.summary["blackHole"] == nil)

            let text = try await Sonde.run(["tracepath", family, target], in: path.client)
            let lines = text.output.split(separator: "\n").map(String.init)
            #expect(lines.first == " 1?: [LOCALHOST]                      pmtu 1500", "\(text.output)")
            #expect(lines.contains { $0.hasPrefix(" 2:  \(router) ") && $0.hasSuffix("ms pmtu 1400") }, "\(text.output)")
            #expect(lines.last == resume, "the same Resume line as tracepath's:\n\(text.output)\ntracepath: \(tracepath)")
            // Column for column: the hop number, the address padded as tracepath pads it, the time where its time is.
            let ours = try #require(lines.first { $0.hasPrefix(" 3:  ") })
            let their = try #require(tracepath.first { $0.hasPrefix(" 3:  ") })
            #expect(ours.firstRange(of: "ms ")?.lowerBound.utf16Offset(in: ours) == their.firstRange(of: "ms ")?.lowerBound.utf16Offset(in: their))
        }
        // -l: a length to start from, below the narrow link's, is the path MTU from the first hop on.
        let short = try await Sonde.run(["tracepath", "--json", "-l", "1300", NarrowLinkPath.target.v4], in: path.client)
        #expect(short.summary["pmtu"] as? Int == 1300 && hops(short).allSatisfy { $0["pmtu"] == nil }, "\(short.output)")
    }

    @Test("a PMTU black hole: tracepath hears nothing past hop 1; Sonde names the hole, the largest size through it, and goes on")
    func blackHole() async throws {
        let path = try await NarrowLinkPath(tag: "h")
        defer { path.remove() }
        try path.makeBlackHole()
        for (target, small) in [(NarrowLinkPath.target.v4, 576), (NarrowLinkPath.target.v6, 1280)] {
            let run = try await Sonde.run(["tracepath", "--json", "-w", "0.3", target], in: path.client)
            #expect(run.status == 0 && run.summary["reached"] as? Bool == true && run.summary["pmtu"] as? Int == 1400, "\(run.output)")
            let hole = run.summary["blackHole"] as? [String: Any] ?? [:]
            #expect(hole["afterHop"] as? Int == 1 && hole["beforeHop"] as? Int == 2, "\(run.output)")
            #expect(hole["largestPassing"] as? Int == NarrowLinkPath.narrowMTU && hole["lost"] as? Int == 1500, "\(run.output)")
            #expect(run.events("black_hole").count == 1 && small < NarrowLinkPath.narrowMTU)
            #expect(hops(run).last?["reached"] as? Bool == true && hops(run).last?["size"] as? Int == 1400)
        }
        let text = try await Sonde.run(["tracepath", "-w", "0.3", NarrowLinkPath.target.v4], in: path.client)
        let lines = text.output.split(separator: "\n").map(String.init)
        let named = lines.filter { $0.contains("black hole") }
        #expect(
            named == [
                "     black hole between hop 1 and 2: 1500-byte packets vanish there with no \"fragmentation needed\"; largest size that passes: 1400"
            ], "named once: \(text.output)")
        #expect(lines.last == "     Resume: pmtu 1400 hops 3 back 3 ", "\(text.output)")

        // Debian's tracepath on the same path (three hops, to keep it short): only silence past the first router.
        let tracepath = try await theirs(["-m", "3", NarrowLinkPath.target.v4], in: path.client)
        #expect(tracepath.contains { $0.hasPrefix(" 2:  no reply") } && !tracepath.contains { $0.hasSuffix("reached") }, "tracepath: \(tracepath)")
    }

    @Test("as nobody without privileges (ping sockets): the same path MTU")
    func unprivileged() async throws {
        let path = try await NarrowLinkPath(tag: "u")
        defer { path.remove() }
        _ = system("ip netns exec \(path.client) sysctl -q -w net.ipv4.ping_group_range='0 2147483647'")
        let run = try await Sonde.run(["tracepath", "--json", NarrowLinkPath.target.v4], in: path.client, asUser: 65534)
        #expect(run.status == 0 && run.summary["pmtu"] as? Int == 1400 && run.summary["hopCount"] as? Int == 3, "\(run.output) \(run.error)")
    }

    @Test("over the API: the policy on the target, streaming, the server's deadline, and /probe?module=tracepath")
    func api() async throws {
        let path = try await NarrowLinkPath(tag: "api")
        defer { path.remove() }
        let server = try ServeIntegrationTests.Server(namespace: path.client, port: 18_318, arguments: ["--deny", "10.83.3.0/24"])
        try await server.waitUntilServing()
        let traced = try await server.request("POST", "/v1/probes/tracepath", body: #"{"target": "fd00:83:3::2"}"#)
        #expect(traced.status == 200 && traced.object["success"] as? Bool == true, "\(traced.body)")
        #expect((traced.object["summary"] as? [String: Any])?["pmtu"] as? Int == 1400, "\(traced.body)")
        let stream = try await server.request("GET", "/v1/probes/tracepath?target=fd00:83:3::2", accept: "application/x-ndjson")
        let types = stream.body.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["type"] as? String
        }
        #expect(types.first == "start" && types.filter { $0 == "hop" }.count == 4 && types.last == "report", "\(stream.body)")
        let denied = try await server.request("POST", "/v1/probes/tracepath", body: #"{"target": "10.83.3.2"}"#)
        #expect(denied.status == 403, "\(denied.body)")
        let bad = try await server.request("POST", "/v1/probes/tracepath", body: #"{"target": "fd00:83:3::2", "length": 70000}"#)
        #expect(bad.status == 400 && bad.body.contains("length"), "\(bad.body)")
        let metrics = try await server.request("GET", "/probe?module=tracepath&target=fd00:83:3::2")
        #expect(
            metrics.body.contains("probe_success 1") && metrics.body.contains("probe_tracepath_pmtu_bytes 1400")
                && metrics.body.contains("probe_tracepath_link_mtu_bytes 1500") && metrics.body.contains("probe_tracepath_black_hole 0"),
            "\(metrics.body)")
        _ = await server.terminate()
    }
}
