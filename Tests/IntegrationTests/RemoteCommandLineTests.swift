import Foundation
import Testing

/// `sonde --agent URL <probe> …`: the command runs in the router namespace, the agent (`sonde serve`) in the
/// client namespace, the targets in the echo namespace — and the output is what a local run prints.
@Suite("remote CLI through an agent", .enabled(if: TestNetwork.available, TestNetwork.skipReason), .timeLimit(.minutes(3)), .serialized)
struct RemoteCommandLineTests {
    let network: TestNetwork

    init() async throws { network = try await TestNetwork.get() }

    func remote(_ arguments: [String], token: String = ServeIntegrationTests.token, port: Int = 18_306) async throws -> Shell.Result {
        try await Shell.captureAsync(
            ["ip", "netns", "exec", network.router, "env", "SONDE_TOKEN=\(token)", Sonde.binary, "--agent", "http://10.77.1.1:\(port)"] + arguments
        )
    }

    @Test("runs on the agent, prints exactly what a local run prints, and fails clearly")
    func remoteRuns() async throws {
        let server = try ServeIntegrationTests.Server(namespace: network.client, port: 18_306, arguments: ["--min-interval", "0.05"])
        try await server.waitUntilServing()

        let ping = try await remote(["ping", "-c", "3", "-i", "0.1", "10.77.2.2"])
        #expect(ping.status == 0, "\(ping.error)")
        let lines = ping.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data.")
        #expect(lines.filter { $0.hasPrefix("64 bytes from 10.77.2.2: icmp_seq=") && $0.contains(" ttl=63 time=") }.count == 3, "\(ping.output)")
        #expect(ping.output.contains("--- 10.77.2.2 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss"))

        // 127.0.0.1:18306 is the agent's own loopback: open only where the probe really ran.
        let tcp = try await remote(["tcp", "-c", "1", "127.0.0.1:18306"])
        #expect(tcp.status == 0, "\(tcp.output) \(tcp.error)")
        #expect(tcp.output.hasPrefix("Connected to 127.0.0.1:18306: seq=1 time="))
        let local = try await Shell.captureAsync(["ip", "netns", "exec", network.router, Sonde.binary, "tcp", "-c", "1", "127.0.0.1:18306"])
        #expect(local.status == 1, "the same probe from the router's own namespace is refused")

        let json = try await remote(["ping", "--json", "-c", "1", "10.77.2.2"])
        #expect(json.output.split(separator: "\n").last?.contains(#""type":"report""#) == true)

        let denied = try await remote(["ping", "-c", "1", "169.254.169.254"])
        #expect(denied.status == 2)
        #expect(denied.error.contains("agent http://10.77.1.1:18306: target '169.254.169.254' is denied by this server's policy"))
        let wrongToken = try await remote(["ping", "-c", "1", "10.77.2.2"], token: "wrong-token-0123456789abcdef")
        #expect(wrongToken.status == 2)
        #expect(wrongToken.error == "sonde: agent http://10.77.1.1:18306: invalid bearer token\n")
        let absent = try await remote(["ping", "-c", "1", "10.77.2.2"], port: 18_399)
        #expect(absent.status == 2)
        #expect(absent.error.contains("http://10.77.1.1:18399 refused the connection: is sonde serve running there, on port 18399?"))
        let https = try await Shell.captureAsync([Sonde.binary, "--agent", "https://10.77.1.1:18306", "ping", "10.77.2.2"])
        #expect(https.status == 2)
        #expect(https.error.contains("Sonde agents speak plain HTTP on the pod network; use http://"))
        #expect(await server.terminate() == 0)
    }
}
