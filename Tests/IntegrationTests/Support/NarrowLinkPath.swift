import Foundation
import Testing

/// A path of a test's own with a narrower link in the middle: client → r1 → (MTU 1400) → r2 → target 10.83.3.2 /
/// fd00:83:3::2, in four namespaces named after the process and `tag`; removed by ``remove()``. The routers keep no
/// ICMP rate limit, so every probe that should be answered is. ``makeBlackHole()`` has r1 drop its own
/// "fragmentation needed" and "packet too big": large packets then vanish past hop 1 without a word.
struct NarrowLinkPath {
    let client: String
    let firstRouter: String
    let namespaces: [String]
    static let narrowMTU = 1400
    static let target = (v4: "10.83.3.2", v6: "fd00:83:3::2")
    static let firstRouterAddress = (v4: "10.83.1.254", v6: "fd00:83:1::fe")
    static let secondRouterAddress = (v4: "10.83.2.2", v6: "fd00:83:2::2")

    init(tag: String) async throws {
        let prefix = "sondemtu\(tag)\(getpid())"
        let (client, r1, r2, target) = (prefix + "c", prefix + "a", prefix + "b", prefix + "t")
        self.client = client
        firstRouter = r1
        namespaces = [client, r1, r2, target]
        let setup = """
            set -e
            for n in \(client) \(r1) \(r2) \(target); do
                ip netns add $n; ip -n $n link set lo up
                ip netns exec $n sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
            done
            ip link add c0 netns \(client) type veth peer name a0 netns \(r1)
            ip link add a1 netns \(r1) mtu \(Self.narrowMTU) type veth peer name b0 netns \(r2) mtu \(Self.narrowMTU)
            ip link add b1 netns \(r2) type veth peer name t0 netns \(target)
            ip -n \(client) addr add 10.83.1.1/24 dev c0; ip -n \(client) addr add fd00:83:1::1/64 dev c0 nodad
            ip -n \(r1) addr add 10.83.1.254/24 dev a0; ip -n \(r1) addr add fd00:83:1::fe/64 dev a0 nodad
            ip -n \(r1) addr add 10.83.2.1/24 dev a1; ip -n \(r1) addr add fd00:83:2::1/64 dev a1 nodad
            ip -n \(r2) addr add 10.83.2.2/24 dev b0; ip -n \(r2) addr add fd00:83:2::2/64 dev b0 nodad
            ip -n \(r2) addr add 10.83.3.254/24 dev b1; ip -n \(r2) addr add fd00:83:3::fe/64 dev b1 nodad
            ip -n \(target) addr add 10.83.3.2/24 dev t0; ip -n \(target) addr add fd00:83:3::2/64 dev t0 nodad
            for pair in "\(client) c0" "\(r1) a0" "\(r1) a1" "\(r2) b0" "\(r2) b1" "\(target) t0"; do set -- $pair; ip -n $1 link set $2 up; done
            ip -n \(client) route add default via 10.83.1.254; ip -n \(client) -6 route add default via fd00:83:1::fe
            ip -n \(r1) route add 10.83.3.0/24 via 10.83.2.2; ip -n \(r1) -6 route add fd00:83:3::/64 via fd00:83:2::2
            ip -n \(r2) route add 10.83.1.0/24 via 10.83.2.1; ip -n \(r2) -6 route add fd00:83:1::/64 via fd00:83:2::1
            ip -n \(target) route add default via 10.83.3.254; ip -n \(target) -6 route add default via fd00:83:3::fe
            for n in \(r1) \(r2); do
                ip netns exec $n sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
                    net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
            done
            ip netns exec \(client) ping -c 1 -W 2 10.83.3.2 >/dev/null
            ip netns exec \(client) ping -c 1 -W 2 fd00:83:3::2 >/dev/null
            """
        // Off the test pool's threads: a shell that takes seconds must not starve the other suites' tasks.
        guard try await Shell.captureAsync(["sh", "-c", setup]).status == 0 else {
            remove()
            throw TestNetworkError.command("the narrow-link path could not be built")
        }
        // The fixture proves it is what it claims (without a large packet, which would teach the client's route
        // cache the path MTU before the test's first trace): the middle link carries 1400 bytes, the others 1500.
        var mtus: [String] = []
        for (namespace, link) in [(r1, "a0"), (r1, "a1"), (r2, "b0")] {
            let read = try await Shell.captureAsync(["ip", "netns", "exec", namespace, "cat", "/sys/class/net/\(link)/mtu"])
            mtus.append(read.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard mtus == ["1500", String(Self.narrowMTU), String(Self.narrowMTU)] else {
            remove()
            throw TestNetworkError.command("the path's links have MTUs \(mtus), not 1500, 1400, 1400")
        }
    }

    /// r1 drops the "fragmentation needed" and "packet too big" it would send: a PMTU black hole between hop 1 and 2.
    func makeBlackHole() throws {
        let rules = """
            ip netns exec \(firstRouter) nft -f - <<'EOF'
            table inet sondeblackhole {
                chain output {
                    type filter hook output priority 0;
                    icmp type destination-unreachable icmp code frag-needed drop
                    icmpv6 type packet-too-big drop
                }
            }
            EOF
            """
        guard system(rules) == 0 else { throw TestNetworkError.command("r1's black-hole rules could not be set") }
    }

    func remove() {
        for namespace in namespaces { _ = system("ip netns del \(namespace) 2>/dev/null") }
    }
}
