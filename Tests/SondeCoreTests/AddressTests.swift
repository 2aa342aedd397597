import SondeCore
import Testing

@Suite("Addresses and resolution")
struct AddressTests {
    @Test func parsesAndPrintsBothFamilies() throws {
        #expect(IPAddress("10.1.2.3")?.description == "10.1.2.3")
        #expect(IPAddress("fd00:0:0::1")?.description == "fd00::1")
        #expect(IPAddress("10.1.2.256") == nil)
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("fd00::1%") == nil)
        #expect(IPAddress("fe80::1%no-such-if0") == nil)
        let zoned = try #require(IPAddress("fe80::1%lo"))
        guard case .v6(let v6) = zoned else {
            Issue.record("not IPv6")
            return
        }
        #expect(v6.scopeID != 0)
        #expect(v6.isLinkLocal)
        #expect(zoned.description == "fe80::1%lo")
    }

    @Test func socketAddressRoundTrips() throws {
        for text in ["192.0.2.7", "fd00:77::9", "fe80::5%1"] {
            let address = try #require(IPAddress(text))
            let (storage, _) = address.socketAddress(port: 53)
            #expect(IPAddress(storage) == address)
        }
    }

    @Test func sameHostIgnoresAOneSidedZone() throws {
        let plain = try #require(IPAddress("fe80::1"))
        let zoned = try #require(IPAddress("fe80::1%1"))
        #expect(plain.isSameHost(as: zoned))
        #expect(!plain.isSameHost(as: try #require(IPAddress("fe80::2"))))
    }

    @Test func literalsSkipTheResolverAndHonourTheFamily() async throws {
        #expect(try await HostResolver.resolve("10.0.0.1", family: .any) == [.v4(IPv4Address(10, 0, 0, 1))])
        let error = await #expect(throws: ProbeError.self) { try await HostResolver.resolve("10.0.0.1", family: .ipv6) }
        #expect(error?.code == .invalidTarget)
        let malformed = await #expect(throws: ProbeError.self) { try await HostResolver.resolve("10.0.0.1%eth0", family: .any) }
        #expect(malformed?.code == .invalidTarget)
    }

    /// `localhost` comes from /etc/hosts and `.invalid` is refused before any lookup: no DNS server is asked.
    @Test func namesResolveThroughTheSystemResolver() async throws {
        let addresses = try await HostResolver.resolve("localhost", family: .ipv4)
        #expect(addresses.contains(.v4(IPv4Address(127, 0, 0, 1))))
        let missing = await #expect(throws: ProbeError.self) { try await HostResolver.resolve("no-such-host.invalid", family: .any) }
        #expect(missing?.code == .unresolvableTarget)
        #expect(missing?.message.contains("no-such-host.invalid") == true)
    }
}
