import SondeCore
import SondeTLS
import Testing

@Suite("TLS client")
struct TLSTests {
    @Test("host names against certificate names (RFC 6125): case, the left-most wildcard label only, IP names")
    func certificateNames() {
        let names = ["shop.test", "*.api.test", "10.0.0.7", "fd00::7"]
        for host in ["shop.test", "SHOP.test", "a.api.test", "10.0.0.7", "fd00:0::7"] {
            #expect(TLSInspector.matches(host, names: names), "\(host)")
        }
        for host in ["www.shop.test", "api.test", "a.b.api.test", "10.0.0.8", "fd00::8", "test"] {
            #expect(!TLSInspector.matches(host, names: names), "\(host)")
        }
        #expect(!TLSInspector.matches("a.test", names: ["*.test"]), "a wildcard needs two labels beside it")
    }

    @Test("the TLS parameters: a DNS name for SNI, --cert and --key together, no file named over the API")
    func options() throws {
        let declared = ProbeDescriptor(kind: "tls-test", summary: "", target: "", parameters: TLSParameters.specs)
        func options(_ values: [String: ParameterValue]) throws -> TLSOptions { try TLSOptions(declared.validate(values)) }
        #expect(try options(["servername": .string("Shop.Test")]).serverName == "shop.test")
        for bad in ["10.0.0.7", "a b", "fd00::1", "x..y"] {
            let error = #expect(throws: ProbeError.self) { try options(["servername": .string(bad)]) }
            #expect(error?.message.contains("servername") == true, "\(bad)")
        }
        #expect(throws: ProbeError.self) { try options(["cert": .string("/tmp/client.pem")]) }
        #expect(throws: ProbeError.self) { try options(["key": .string("/tmp/client.key")]) }
        let files = try options(["cacert": .string("/etc/ssl/ca.pem")])
        try files.checkFiles(ProbeContext())
        let refused = #expect(throws: ProbeError.self) { try files.checkFiles(ProbeContext(policy: AddressPolicy())) }
        #expect(refused?.message.contains("cacert") == true)
    }

    @Test("an unreadable or wrong PEM file is one line naming it")
    func badFiles() throws {
        let declared = ProbeDescriptor(kind: "tls-test", summary: "", target: "", parameters: TLSParameters.specs)
        let missing = try TLSOptions(declared.validate(["cacert": .string("/nonexistent/ca.pem")]))
        let error = #expect(throws: ProbeError.self) { try TLSClient(missing) }
        #expect(error?.message.contains("/nonexistent/ca.pem") == true)
        let notPEM = try TLSOptions(declared.validate(["cert": .string("/etc/hostname"), "key": .string("/etc/hostname")]))
        let wrong = #expect(throws: ProbeError.self) { try TLSClient(notPEM) }
        #expect(wrong?.message.contains("cert") == true)
    }
}
