import Foundation
import Testing

/// A path of a test's own: client → a (Linux's stock ICMP rate limit: a burst of 6, then one a second) → b (no
/// limit) → target 10.81.3.2, in four namespaces named after the process and `tag`; removed by ``remove()``. b
/// answers 10.81.9.0/24 with host unreachable (`!H`) and 10.81.8.0/24 with administratively prohibited (`!X`), through
/// the token bucket Linux gives each client of a router's unreachables: this client's alone, whatever other tests do
/// meanwhile.
struct RateLimitedPath {
    let client: String
    let limiting: String
    let namespaces: [String]
    static let target = "10.81.3.2"
    static let limitingRouter = "10.81.1.254"
    static let unreachableRouter = "10.81.2.2"
    static let unreachable = "10.81.9.9"
    static let prohibited = "10.81.8.9"

    init(tag: String) async throws {
        let prefix = "sonderl\(tag)\(getpid())"
        let (client, a, b, target) = (prefix + "c", prefix + "a", prefix + "b", prefix + "t")
        self.client = client
        limiting = a
        namespaces = [client, a, b, target]
        let setup = """
            set -e
            for n in \(client) \(a) \(b) \(target); do ip netns add $n; ip -n $n link set lo up; done
            ip link add c0 netns \(client) type veth peer name a0 netns \(a)
            ip link add a1 netns \(a) type veth peer name b0 netns \(b)
            ip link add b1 netns \(b) type veth peer name t0 netns \(target)
            ip -n \(client) addr add 10.81.1.1/24 dev c0; ip -n \(a) addr add 10.81.1.254/24 dev a0
            ip -n \(a) addr add 10.81.2.1/24 dev a1; ip -n \(b) addr add 10.81.2.2/24 dev b0
            ip -n \(b) addr add 10.81.3.254/24 dev b1; ip -n \(target) addr add 10.81.3.2/24 dev t0
            for pair in "\(client) c0" "\(a) a0" "\(a) a1" "\(b) b0" "\(b) b1" "\(target) t0"; do set -- $pair; ip -n $1 link set $2 up; done
            ip -n \(client) route add default via 10.81.1.254
            ip -n \(a) route add 10.81.3.0/24 via 10.81.2.2
            ip -n \(a) route add 10.81.9.0/24 via 10.81.2.2
            ip -n \(a) route add 10.81.8.0/24 via 10.81.2.2
            ip -n \(b) route add unreachable 10.81.9.0/24
            ip -n \(b) route add prohibit 10.81.8.0/24
            ip -n \(b) route add 10.81.1.0/24 via 10.81.2.1
            ip -n \(target) route add default via 10.81.3.254
            ip netns exec \(a) sysctl -q -w net.ipv4.ip_forward=1
            ip netns exec \(b) sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
            ip netns exec \(client) ping -c 1 -W 2 10.81.3.2 >/dev/null
            """
        // Off the test pool's threads: a shell that takes seconds must not starve the other suites' tasks.
        guard try await Shell.captureAsync(["sh", "-c", setup]).status == 0 else {
            remove()
            throw TestNetworkError.command("the rate-limited path could not be built")
        }
        // The fixture proves it is what it claims: the first router keeps Linux's default limit.
        let limit = try await Shell.captureAsync(["ip", "netns", "exec", a, "sysctl", "-n", "net.ipv4.icmp_ratelimit"]).output
        guard limit.trimmingCharacters(in: .whitespacesAndNewlines) == "1000" else {
            remove()
            throw TestNetworkError.command("router a's icmp_ratelimit is \(limit), not Linux's default 1000")
        }
    }

    func remove() {
        for namespace in namespaces { _ = system("ip netns del \(namespace) 2>/dev/null") }
    }
}
