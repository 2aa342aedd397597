import SondeCore
import Testing

@Suite("address policy")
struct AddressPolicyTests {
    @Test("CIDR parsing: bare addresses, host bits cleared, bad prefixes refused")
    func parsing() {
        #expect(IPNetwork("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPNetwork("10.1.2.3")?.description == "10.1.2.3/32")
        #expect(IPNetwork("fd00:ec2::254")?.description == "fd00:ec2::254/128")
        #expect(IPNetwork("2001:db8:ffff::/33")?.description == "2001:db8:8000::/33")
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("203.0.113.9")!) == true)
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "fe80::1%lo/64", "x/8", "10.0.0.0/8/8", "10.0.0.0/+8"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test("containment respects the prefix and the family")
    func containment() throws {
        let network = try #require(IPNetwork("10.77.0.0/16"))
        #expect(network.contains(IPAddress("10.77.255.1")!))
        #expect(!network.contains(IPAddress("10.78.0.1")!))
        #expect(!network.contains(IPAddress("::ffff:10.77.0.1")!), "families differ; the policy unmaps first")
        let v6 = try #require(IPNetwork("fd00:77::/32"))
        #expect(v6.contains(IPAddress("fd00:77:5::1")!))
        #expect(!v6.contains(IPAddress("fd00:78::1")!))
    }

    @Test("the defaults deny cloud metadata and unspecified addresses, however they are written")
    func defaults() {
        let policy = AddressPolicy()
        for denied in [
            "169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "0.0.0.0", "::", "169.254.170.2", "100.100.100.200",
        ] {
            #expect(policy.refusal(of: IPAddress(denied)!) != nil, "\(denied)")
        }
        for allowed in ["10.96.0.10", "127.0.0.1", "::1", "169.254.169.253", "fd00:77::1", "8.8.8.8"] {
            #expect(policy.refusal(of: IPAddress(allowed)!) == nil, "\(allowed)")
        }
    }

    @Test("an allow list admits only its networks, and deny wins over allow")
    func allowList() throws {
        let policy = AddressPolicy(
            allow: [.init(IPNetwork("10.0.0.0/8")!)],
            deny: [.init(IPNetwork("10.0.0.5/32")!, reason: "the database")]
        )
        #expect(policy.refusal(of: IPAddress("10.9.9.9")!) == nil)
        #expect(policy.refusal(of: IPAddress("192.168.1.1")!)?.reason == "not in the allow list")
        #expect(policy.refusal(of: IPAddress("10.0.0.5")!)?.reason == "the database")
        let error = #expect(throws: ProbeError.self) { try policy.authorize(IPAddress("10.0.0.5")!, target: "db") }
        #expect(error?.code == .targetDenied)
        #expect(
            error?.message
                == "target 'db' (resolved to 10.0.0.5) is denied by this server's policy: it is in the denied network 10.0.0.5/32 (the database)")
    }
}
