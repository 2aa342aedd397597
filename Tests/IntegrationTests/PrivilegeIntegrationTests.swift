import Foundation
import Testing

/// The privilege model, verified from outside the process: every thread of a running `sonde` is read from
/// `/proc/<pid>/task/*/status` while it pings over IPv4 and IPv6.
@Suite("least privilege, seen from /proc", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)))
struct PrivilegeIntegrationTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    struct Inspection {
        var threads: [[String: String]]
        var output: String
        var error: String
    }

    /// Starts `sonde ping` against both echo addresses, waits until replies arrived from both families,
    /// reads every thread's status, then interrupts it.
    func inspect(_ prefix: [String] = [], _ arguments: [String] = []) async throws -> Inspection {
        let ping = try Spawned(
            ["/usr/sbin/ip", "netns", "exec", network.client] + prefix + [Sonde.binary] + arguments
                + ["ping", "-i", "0.05", "10.77.2.2", "fd00:77:2::2"]
        )
        // Both families answered at least twice (bounded: 5 s), and the engine and pool threads exist.
        for _ in 0..<100 {
            let seen = ping.output.value
            if seen.components(separatedBy: "10.77.2.2    : [").count > 2, seen.components(separatedBy: "fd00:77:2::2 : [").count > 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let pid = ping.pid
        let threads = try ProcessStatus.threads(of: pid).map(\.fields)
        ping.signal(SIGINT)
        let finished = await ping.wait(timeout: 10)
        #expect(finished == 0, "\(ping.errors.value)")
        return Inspection(threads: threads, output: ping.output.value, error: ping.errors.value)
    }

    func expectNetRawOnly(_ threads: [[String: String]], uid: String, gid: String, bounding: String = "0000000000002000") {
        #expect(threads.count >= 2, "the engine's thread and the concurrency pool exist by now")
        for thread in threads {
            let name = thread["Name"] ?? "?"
            #expect(thread["Uid"] == "\(uid)\t\(uid)\t\(uid)\t\(uid)", "\(name)")
            #expect(thread["Gid"] == "\(gid)\t\(gid)\t\(gid)\t\(gid)", "\(name)")
            #expect(thread["Groups"] == gid, "\(name)")
            #expect(thread["CapEff"] == "0000000000002000", "\(name)")
            #expect(thread["CapPrm"] == "0000000000002000", "\(name)")
            #expect(thread["CapBnd"] == bounding, "\(name)")
            #expect(thread["CapInh"] == "0000000000000000", "\(name)")
            #expect(thread["CapAmb"] == "0000000000000000", "\(name)")
            #expect(thread["NoNewPrivs"] == "1", "\(name)")
        }
    }

    func expectBothFamiliesAnswered(_ output: String) {
        #expect(output.contains("10.77.2.2    : xmt/rcv/%loss = "))
        #expect(output.contains("fd00:77:2::2 : xmt/rcv/%loss = "))
        #expect(!output.contains("/0/100%"), "every family got replies after the drop")
    }

    @Test func startedAsRootEveryThreadKeepsOnlyNetRawAsNobody() async throws {
        let run = try await inspect()
        expectNetRawOnly(run.threads, uid: "65534", gid: "65534")
        expectBothFamiliesAnswered(run.output)
    }

    @Test func theConfiguredUserAndGroup() async throws {
        let run = try await inspect([], ["--user", "4321:8765", "-v"])
        expectNetRawOnly(run.threads, uid: "4321", gid: "8765")
        #expect(
            run.error.contains(
                "privileges: mode=root-dropped uid=4321 gid=8765 effective=cap_net_raw permitted=cap_net_raw bounding=cap_net_raw inheritable=none ambient=none no_new_privs=1 icmp: ipv4=raw ipv6=raw"
            ))
        expectBothFamiliesAnswered(run.output)
    }

    @Test func startedUnprivilegedWithOnlyNetRaw() async throws {
        let setpriv = [
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all,+net_raw",
            "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw",
        ]
        let run = try await inspect(setpriv, ["-v"])
        #expect(run.threads.allSatisfy { $0["Groups"] == "" || $0["Groups"] == nil })
        for thread in run.threads {
            #expect(thread["CapEff"] == "0000000000002000" && thread["CapPrm"] == "0000000000002000")
            #expect(thread["CapAmb"] == "0000000000000000" && thread["CapInh"] == "0000000000000000")
            #expect(thread["NoNewPrivs"] == "1")
        }
        #expect(run.error.contains("mode=cap-net-raw"))
        #expect(run.error.contains("icmp: ipv4=raw ipv6=raw"))
        expectBothFamiliesAnswered(run.output)
    }

    @Test func startedWithNothingUsesPingSocketsWhereAllowed() async throws {
        let setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
        let run = try await inspect(setpriv, ["-v"])
        for thread in run.threads {
            #expect(thread["CapEff"] == "0000000000000000" && thread["CapPrm"] == "0000000000000000")
            #expect(thread["NoNewPrivs"] == "1")
        }
        #expect(run.error.contains("mode=unprivileged"))
        #expect(run.error.contains("icmp: ipv4=datagram ipv6=datagram"))
        expectBothFamiliesAnswered(run.output)
    }

    @Test func commandsThatSendNoICMPKeepNoCapabilityAtAll() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", network.client, Sonde.binary, "tcp", "-q", "-c", "400", "-i", "0.05", "10.77.2.2:2222"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // It runs for 20 s; a moment in, its threads exist. It is killed when the test ends.
        try await Task.sleep(for: .milliseconds(600))
        let pid = process.processIdentifier
        #expect(process.isRunning)
        let threads = try ProcessStatus.threads(of: pid)
        #expect(!threads.isEmpty)
        for (task, fields) in threads {
            #expect(fields["Uid"] == "65534\t65534\t65534\t65534")
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                #expect(fields[set] == "0000000000000000", "\(set) of thread \(task)")
            }
            #expect(fields["NoNewPrivs"] == "1")
        }
    }

    @Test func aDropThatCannotHappenIsFatal() async throws {
        let run = try await Sonde.run(["--user", "root", "ping", "-c", "1", "10.77.2.2"], in: network.client)
        #expect(run.status == 2)
        #expect(run.output.isEmpty)
        #expect(run.error.contains("invalid value 'root' for --user"))
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var value: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
