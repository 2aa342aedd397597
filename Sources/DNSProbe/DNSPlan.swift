import SondeCore
import SondeRegex
import SondeTLS

/// A DNS request's parameters, read and checked once before anything is sent (as `PingPlan` is for ping).
struct DNSPlan: Sendable {
    /// The names to ask, in search-list order, and the type asked.
    var names: [String]
    var queryType: DNSType
    /// `--server`, or resolv.conf's nameservers.
    var servers: [(address: IPAddress, port: UInt16)]
    /// How a server is named when the policy refuses it: the `server` parameter, or its resolv.conf line.
    var serverSetting: String?
    var expectedRcodes: Set<DNSResponseCode>
    /// NOERROR counts only with an answer (off: the response code alone, as blackbox_exporter judges).
    var requireAnswer: Bool
    var expectAddress: IPAddress?
    var expect: SafeRegex?
    var timeout: Duration
    var attempts: Int
    var useTCP: Bool
    /// DNS over TLS (`--tls`), and how the servers' certificates are judged.
    var tls: TLSOptions?
    var edns: EDNS
    /// The local address queries are sent from (`-b`).
    var source: IPAddress?
    /// `--validate`: patterns on each section's records (blackbox's validate_*_rrs).
    var validations: [DNSValidation] = []

    init(target: String, values: ParameterValues, config: ResolverConfiguration) throws(ProbeError) {
        let type = DNSType(name: values.string("type") ?? "A") ?? .a
        serverSetting = values.string("server")
        let overTLS = values.boolean("tls") ?? false
        tls = overTLS ? try TLSOptions(values) : nil
        servers = try DNSProbe.servers(serverSetting, config: config, defaultPort: overTLS ? 853 : 53).map { (address: $0.0, port: $0.1) }
        expectedRcodes = try DNSProbe.rcodes(values.string("expectRcode") ?? "NOERROR")
        requireAnswer = values.boolean("requireAnswer") ?? true
        timeout = values.duration("timeout") ?? .seconds(config.timeout)
        attempts = values.integer("attempts") ?? config.attempts
        useTCP = values.boolean("tcp") ?? false
        source = values.string("source").flatMap(IPAddress.init)
        for line in (values.string("validate") ?? "").split(separator: "\n") { validations.append(try DNSValidation.parse(String(line))) }
        if let source, !servers.contains(where: { $0.address.family == source.family }) {
            throw ProbeError.invalid(
                parameter: "source", value: source.description,
                allowed: "an address of a server's family (the servers: \(servers.map { $0.address.description }.joined(separator: ", ")))")
        }
        (names, queryType) = try DNSProbe.names(
            for: target, type: type, reverse: values.boolean("reverse") ?? false, search: values.boolean("search") ?? true, config: config
        )
        edns = EDNS(udpPayloadSize: UInt16(values.integer("bufsize") ?? 1232), dnssecOK: values.boolean("dnssec") ?? false)
        edns.version = 0
        expectAddress = values.string("expectAddress").flatMap(IPAddress.init)
        if let pattern = values.string("expect") {
            do {
                expect = try SafeRegex(pattern)
            } catch {
                throw ProbeError.invalid(parameter: "expect", value: pattern, allowed: "an RE2 regular expression (\(error))")
            }
        }
    }
}
