import Foundation
import Testing

/// External probes, through the real binary: the shipped `Probes/http-get` against a real HTTP server, and test
/// plug-ins that crash, hang with a grandchild, print garbage, flood, or report their own privileges.
@Suite("external probes", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)), .serialized)
struct ExternalProbeIntegrationTests {
    let network: TestNetwork
    /// A root-owned probes directory: the shipped example, the test plug-ins, and two that must be refused.
    let directory: String

    init() async throws {
        network = try await TestNetwork.get()
        directory = try Self.makeDirectory()
    }

    static func makeDirectory() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/probes")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-probes-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        var sources = [root.appendingPathComponent("Probes/http-get").path]
        for name in ["crash", "hang", "garbage", "flood", "privileges", "escape"] { sources.append(support.appendingPathComponent(name).path) }
        for source in sources {
            let destination = directory + "/" + URL(fileURLWithPath: source).lastPathComponent
            try copyExecutable(from: source, to: destination, mode: 0o755)
        }
        // Refused: writable by others, and a symbolic link.
        try copyExecutable(from: support.appendingPathComponent("crash").path, to: directory + "/writable", mode: 0o777)
        try FileManager.default.createSymbolicLink(atPath: directory + "/linked", withDestinationPath: directory + "/crash")
        return directory
    }

    /// Copies through a descriptor opened close-on-exec: a copy whose write descriptor leaked into a child that
    /// other tests in this process fork at the same moment would stay "open for writing" (ETXTBSY) for that
    /// child's whole life, and the plug-in could not be run.
    static func copyExecutable(from source: String, to destination: String, mode: mode_t) throws {
        let contents = try Data(contentsOf: URL(fileURLWithPath: source))
        let descriptor = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination]) }
        defer { close(descriptor) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == contents.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination]) }
        fchmod(descriptor, mode)
    }

    @Test("the CLI lists them, refuses untrusted files saying why, and runs one like a built-in probe")
    func commandLine() async throws {
        let listing = try await Sonde.run(["--probes-dir", directory, "probes", "--json"], in: network.client)
        #expect(listing.status == 0)
        let kinds = ((try? JSONSerialization.jsonObject(with: Data(listing.output.utf8))) as? [[String: Any]] ?? []).compactMap {
            $0["kind"] as? String
        }
        #expect(
            kinds == [
                "crash", "dns", "escape", "flood", "garbage", "grpc", "hang", "http", "http-get", "mtr", "ping", "privileges", "tcp", "tracepath",
                "traceroute",
                "udp",
            ],
            "\(listing.error)")
        #expect(listing.error.contains("skipped \(directory)/writable: writable by group or others (mode 777)"))
        #expect(listing.error.contains("skipped \(directory)/linked: a symbolic link"))

        let help = try await Sonde.run(["--probes-dir", directory, "http-get", "--help"], in: network.client)
        #expect(help.output.contains("-c, --count <n>"))
        #expect(help.output.contains("Requests to make [1–100] (default: 1)"))
        let bad = try await Sonde.run(["--probes-dir", directory, "http-get", "-c", "0", "127.0.0.1:1"], in: network.client)
        #expect(bad.status == 2)
        #expect(bad.error.contains("invalid value '0' for -c/--count: expected an integer from 1 to 100"))
    }

    @Test("over the API: validated, policy-checked, streamed; failures are clear 502s and the agent stays healthy")
    func api() async throws {
        // A real HTTP server inside the client namespace, for the shipped http probe.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-www-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = system(
            "ip netns exec \(network.client) python3 -m http.server 18780 --bind :: --directory \(folder) >/dev/null 2>&1 & echo $! > \(folder).pid")
        defer { _ = system("kill $(cat \(folder).pid) 2>/dev/null; rm -rf \(folder) \(folder).pid") }

        // The token comes from a root-only file, read before the drop; a file the plug-in user could read is refused.
        let tokenFile = "/tmp/\(TestNetwork.prefix)-plugin-token"
        try ServeIntegrationTests.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { unlink(tokenFile) }
        chmod(tokenFile, 0o644)
        let readable = try await Sonde.run(["--probes-dir", directory, "serve", "--port", "18305", "--token-file", tokenFile], in: network.client)
        #expect(readable.status == 2, "\(readable.error)")
        #expect(readable.error.contains("the token file \(tokenFile) is readable by the plug-in user 65533:65533"), "\(readable.error)")
        // `--check` says so too, as it must say whatever `serve` would refuse.
        let checked = try await Sonde.run(["--probes-dir", directory, "serve", "--check", "--token-file", tokenFile], in: network.client)
        #expect(checked.status == 2 && checked.error.contains("is readable by the plug-in user 65533:65533"), "\(checked.output) \(checked.error)")
        chmod(tokenFile, 0o400)
        let checkedPrivate = try await Sonde.run(["--probes-dir", directory, "serve", "--check", "--token-file", tokenFile], in: network.client)
        #expect(checkedPrivate.status == 0 && checkedPrivate.output.contains("settings OK"), "\(checkedPrivate.output) \(checkedPrivate.error)")
        let server = try ServeIntegrationTests.Server(
            namespace: network.client, port: 18_304, arguments: ["--probes-dir", directory, "--max-duration", "5", "--token-file", tokenFile],
            withToken: false
        )
        try await server.waitUntilServing()
        for _ in 0..<50 {
            if try await server.request("GET", "/v1/probes/http-get?target=127.0.0.1:18780").status == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }

        let listing = try await server.request("GET", "/v1/probes")
        #expect(listing.body.contains("\"kind\":\"http-get\""))
        let openAPI = try await server.request("GET", "/openapi.json")
        #expect(openAPI.body.contains("\"/v1/probes/http-get\""))

        let ok = try await server.request("POST", "/v1/probes/http-get", body: #"{"target": "localhost:18780", "count": 2, "interval": 0.2}"#)
        #expect(ok.status == 200, "\(ok.body)")
        #expect(ok.object["success"] as? Bool == true)
        #expect(ok.object["address"] as? String == "::1", "localhost resolved by Sonde, then checked and handed to the plug-in")
        #expect((ok.object["summary"] as? [String: Any])?["ok"] as? Int == 2)

        let stream = try await server.request(
            "GET", "/v1/probes/http-get?target=127.0.0.1:18780&count=3&interval=0.4", accept: "application/x-ndjson")
        let responses = zip(stream.objects, stream.lines).filter { $0.0["type"] as? String == "response" }.map(\.1.at)
        #expect(responses.count == 3, "\(stream.body)")
        if let first = responses.first, let last = responses.last { #expect(last - first > 0.6, "streamed as they happen: \(responses)") }

        let invalid = try await server.request("GET", "/v1/probes/http-get?target=127.0.0.1:18780&count=500")
        #expect(invalid.status == 400)
        #expect(invalid.body.contains("expected an integer from 1 to 100"))
        let denied = try await server.request("GET", "/v1/probes/http-get?target=169.254.169.254:80")
        #expect(denied.status == 403)

        let crash = try await server.request("GET", "/v1/probes/crash?target=127.0.0.1")
        #expect(crash.status == 502)
        #expect(crash.body.contains("external probe 'crash' was killed by signal 11 without a report; it said: about to crash"), "\(crash.body)")

        let marker = "m\(getpid())"
        let hang = try await server.request("GET", "/v1/probes/hang?target=127.0.0.1&marker=\(marker)")
        #expect(hang.status == 502)
        #expect(hang.body.contains("external probe 'hang' did not report within 5 s and was stopped"), "\(hang.body)")
        // The plug-in wrote its grandchild's pid once it saw it running; now that pid is gone.
        let pidFile = "/tmp/sonde-hang-\(marker).pid"
        defer { unlink(pidFile) }
        let hung = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(hung != nil, "the grandchild was seen running")
        if let hung {
            #expect(kill(hung, 0) != 0 && errno == ESRCH, "the plug-in's grandchild was killed with its process group")
        }

        let garbage = try await server.request("GET", "/v1/probes/garbage?target=127.0.0.1")
        #expect(garbage.status == 502)
        #expect(garbage.body.contains("printed a line that is not a JSON object"), "\(garbage.body)")

        let flood = try await server.request("GET", "/v1/probes/flood?target=127.0.0.1")
        #expect(flood.status == 502)
        #expect(flood.body.contains("printed a line longer than 65536 bytes"), "\(flood.body)")

        // The child holds nothing: no capability, NoNewPrivs, the plug-in user (not Sonde's), no way back to root.
        let privileges = try await server.request("GET", "/v1/probes/privileges?target=127.0.0.1", accept: "application/x-ndjson")
        let status = privileges.objects.first { $0["type"] as? String == "status" } ?? [:]
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            #expect(status[set] as? String == "0000000000000000", "\(set): \(status[set] ?? "missing")")
        }
        #expect(status["NoNewPrivs"] as? String == "1")
        #expect((status["Uid"] as? String)?.split(separator: " ").allSatisfy { $0 == "65533" } == true, "\(status["Uid"] ?? "")")
        #expect((status["Gid"] as? String)?.split(separator: " ").allSatisfy { $0 == "65533" } == true, "\(status["Gid"] ?? "")")
        #expect(status["becameRoot"] as? Bool == false, "setuid(0) from inside must fail")
        #expect((status["environment"] as? [String])?.contains("SONDE_TOKEN") == false, "the token is not passed on")

        // A hostile plug-in: its setsid grandchild ran (seen by the plug-in itself) and is gone after the run. Sonde
        // (its grandparent: the launcher is its parent) could not be signalled, ptraced or read, nor could the
        // launcher be read or ptraced; the token file was out of reach.
        let escape = try await server.request("GET", "/v1/probes/escape?target=127.0.0.1&tokenFile=\(tokenFile)", accept: "application/x-ndjson")
        let tried = escape.objects.first { $0["type"] as? String == "tried" } ?? [:]
        #expect(tried["grandchildAlive"] as? Bool == true, "the grandchild started: \(escape.body)")
        let grandchild = tried["grandchild"] as? Int ?? 0
        #expect(grandchild > 0 && (tried["grandchildSession"] as? Int) == grandchild, "in a session of its own: \(tried)")
        #expect(grandchild > 0 && kill(pid_t(grandchild), 0) != 0 && errno == ESRCH, "the escaped grandchild was killed: \(tried)")
        #expect(tried["tokenFileReadable"] as? Bool == false, "the token file is unreadable: \(tried)")
        #expect(tried["ptraceKnown"] as? Bool == true, "the plug-in knows this machine's ptrace call: \(tried)")
        let sonde = tried["grandparent"] as? [String: Any] ?? [:]
        #expect(sonde["pid"] as? Int == Int(server.process.processIdentifier), "the launcher's parent is Sonde: \(tried)")
        for attempt in ["environReadable", "memoryReadable", "signalAllowed", "ptraceAllowed"] {
            #expect(sonde[attempt] as? Bool == false, "Sonde: \(attempt) must be false: \(tried)")
        }
        let launcher = tried["parent"] as? [String: Any] ?? [:]
        for attempt in ["environReadable", "memoryReadable", "ptraceAllowed"] {
            #expect(launcher[attempt] as? Bool == false, "the launcher: \(attempt) must be false: \(tried)")
        }

        // An address a plug-in takes as a parameter passes the same policy as the target.
        let peer = try await server.request("GET", "/v1/probes/escape?target=127.0.0.1&peer=169.254.169.254")
        #expect(peer.status == 403, "\(peer.body)")
        #expect(peer.body.contains("peer: target '169.254.169.254' is denied by this server's policy"), "\(peer.body)")

        // Swapped after start-up for a symbolic link to a world-writable script that would report success: the
        // file that was checked is what runs. Made writable by others in place: refused before it runs.
        let impostor = directory + "/.impostor"
        try "#!/bin/sh\necho '{\"type\":\"report\",\"success\":true,\"summary\":{}}'\n".write(toFile: impostor, atomically: true, encoding: .utf8)
        chmod(impostor, 0o777)
        let link = directory + "/.garbage-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: impostor)
        #expect(rename(link, directory + "/garbage") == 0)
        let swapped = try await server.request("GET", "/v1/probes/garbage?target=127.0.0.1")
        #expect(swapped.status == 502 && swapped.body.contains("printed a line that is not a JSON object"), "the checked file ran: \(swapped.body)")
        chmod(directory + "/flood", 0o777)
        let loosened = try await server.request("GET", "/v1/probes/flood?target=127.0.0.1")
        #expect(loosened.status == 502, "\(loosened.body)")
        #expect(loosened.body.contains("its file \(directory)/flood changed since it was loaded: writable by group or others"), "\(loosened.body)")

        // A plug-in shares its launcher's uid and so can kill it: that stops plug-ins, nothing else.
        let killer = try await server.request("GET", "/v1/probes/escape?target=127.0.0.1&killParent=true")
        #expect(killer.object["success"] as? Bool == true, "\(killer.body)")
        let orphaned = try await server.request("GET", "/v1/probes/privileges?target=127.0.0.1")
        #expect(orphaned.status == 502, "\(orphaned.body)")
        #expect(orphaned.body.contains("the plug-in launcher has exited (killed by a plug-in?); restart Sonde"), "\(orphaned.body)")
        #expect(try await server.request("GET", "/v1/probes/tcp?target=127.0.0.1:1&count=1").status == 200, "built-in probes still run")

        #expect(try await server.request("GET", "/healthz", token: false).status == 200)
        let after = try await server.request("GET", "/v1/status")
        #expect(after.object["runningProbes"] as? Int == 0)
        #expect(await server.terminate() == 0)
    }
}
