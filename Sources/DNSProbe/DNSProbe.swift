public import SondeCore
import SondeRegex
import SondeTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// DNS lookups with Sonde's own wire-format client: which server answered what, over UDP or TCP, and which
/// names the search list made the resolver try.
public struct DNSProbe: Probe {
    public static let kind: ProbeKind = "dns"

    public let descriptor = ProbeDescriptor(
        kind: kind,
        summary: "DNS lookup: rcode, flags, every section, and every name the search list tried",
        target: "a domain name (or, with -x, an IP address to look up in reverse)",
        parameters: [
            ParameterSpec("type", .choice(DNSType.named.map(\.0)), default: .string("A"), summary: "Record type to ask for", cli: .init(short: "t")),
            ParameterSpec(
                "server", .text(maxLength: 64, format: .any),
                summary: "Ask this server (IP, IP:PORT or [IPv6]:PORT) instead of those in /etc/resolv.conf"),
            ParameterSpec("tcp", .boolean, default: .boolean(false), summary: "Use TCP instead of UDP"),
            ParameterSpec(
                "tls", .boolean, default: .boolean(false),
                summary: "DNS over TLS (RFC 7858; dig's +tls): port 853 unless --server names one, the certificate judged as the TLS options say"),
            ParameterSpec(
                "source", .text(maxLength: 64, format: .ipAddress), summary: "Send queries from this local address (as dig -b)",
                cli: .init(short: "b")),
            ParameterSpec(
                "reverse", .boolean, default: .boolean(false), summary: "Reverse lookup: the target is an IP address; ask for its PTR record",
                cli: .init(short: "x")),
            ParameterSpec(
                "search", .boolean, default: .boolean(true),
                summary: "Apply the search list and ndots from /etc/resolv.conf (--search=false: ask for the name as given)"),
            ParameterSpec(
                "timeout", .seconds(0.01...60), summary: "Seconds to wait for each answer (default: resolv.conf's timeout, else 5)",
                cli: .init(short: "W"), role: .duration),
            ParameterSpec("attempts", .integer(1...5), summary: "Rounds over the servers before giving up (default: resolv.conf's attempts, else 2)"),
            ParameterSpec("bufsize", .integer(512...65_535), default: .integer(1232), summary: "EDNS0 UDP payload size to advertise"),
            ParameterSpec("dnssec", .boolean, default: .boolean(false), summary: "Set the DNSSEC OK (DO) bit"),
            ParameterSpec(
                "expectRcode", .text(maxLength: 128, format: .any), default: .string("NOERROR"),
                summary: "Response codes that count as success, comma-separated"),
            ParameterSpec(
                "requireAnswer", .boolean, default: .boolean(true),
                summary: "NOERROR counts only with an answer (--require-answer=false: the response code alone, as blackbox_exporter)"),
            ParameterSpec("expectAddress", .text(maxLength: 64, format: .ipAddress), summary: "Succeed only if the answer holds this address"),
            ParameterSpec(
                "expect", .text(maxLength: 1024, format: .regularExpression),
                summary: "Succeed only if an answer record's data matches this regular expression"),
            ParameterSpec(
                "validate", .text(maxLength: 8192, format: .lines),
                summary: "Judge a section's records as blackbox's validate_*_rrs: 'SECTION CHECK REGEX', SECTION answer, authority or "
                    + "additional, CHECK fail-if-matches, fail-if-all-match, fail-if-not-matches or fail-if-none-matches, the regex on "
                    + "'name<TAB>ttl<TAB>class<TAB>type<TAB>data' (repeat --validate; in the API, one per line)",
                cli: .init(repeatable: true)),
        ] + TLSParameters.specs,
        checkTogether: { values throws(ProbeError) in
            for line in (values.string("validate") ?? "").split(separator: "\n") { _ = try DNSValidation.parse(String(line)) }
            if values.boolean("tls") == true { _ = try TLSOptions(values) }
        }
    )

    private let configuration: @Sendable () -> ResolverConfiguration

    /// - Parameter configuration: where the resolver settings come from (default: `/etc/resolv.conf`, read per run).
    public init(configuration: @escaping @Sendable () -> ResolverConfiguration = { .system() }) {
        self.configuration = configuration
    }

    public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<DNSEvent, DNSSummary> {
        DNSTextRenderer(options: options)
    }

    public func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (DNSEvent) -> Void
    ) async throws(ProbeError) -> ProbeReport<DNSSummary> {
        let values = request.parameters
        let plan = try DNSPlan(target: request.target, values: values, config: configuration())
        for (server, _) in plan.servers {
            try context.authorize(server, target: plan.serverSetting ?? "nameserver \(server)")
        }
        try plan.tls?.checkFiles(context)
        let tlsClient = try plan.tls.map { options throws(ProbeError) in try TLSClient(options) }

        let started = Date()
        let start = ContinuousClock.now
        let deadline = context.deadline
        var summary = DNSSummary()
        var final:
            (message: DNSMessage, bytes: Int, server: String, address: IPAddress, transport: DNSTransport, elapsed: Duration, connect: Duration)?
        search: for name in plan.names {
            var answered:
                (message: DNSMessage, bytes: Int, server: String, address: IPAddress, transport: DNSTransport, elapsed: Duration, connect: Duration)?
            rounds: for attempt in 1...plan.attempts {
                for (server, port) in plan.servers {
                    if Task.isCancelled { break search }
                    var waitFor = plan.timeout
                    if let deadline {
                        guard deadline > .now else { break search }
                        waitFor = min(plan.timeout, deadline - .now)
                    }
                    let serverText = server.endpoint(port: port)
                    var transport: DNSTransport = tlsClient != nil ? .tls : plan.useTCP ? .tcp : .udp
                    while true {
                        let id = UInt16.random(in: 0...UInt16.max)
                        let query: [UInt8]
                        do {
                            query = try DNSMessage(
                                id: id, flags: DNSFlags(), questions: [DNSQuestion(name: name, type: plan.queryType)], edns: plan.edns
                            ).encoded()
                        } catch {
                            throw ProbeError(.invalidTarget, error.description)
                        }
                        summary.queries += 1
                        var event = DNSEvent("response", target: request.target, name: name, server: serverText, transport: transport.rawValue)
                        event.attempt = attempt
                        let outcome: DNSTransport.Outcome
                        if let tlsClient {
                            let setup = tlsClient.setup(for: server.description, isTarget: true)
                            let tls: TLSFacts?
                            (outcome, tls) = await DNSTransport.exchangeOverTLS(
                                query, with: server, port: port, from: plan.source, tls: setup, timeout: waitFor)
                            summary.tls = tls ?? summary.tls
                        } else {
                            outcome = await transport.exchange(query, id: id, with: server, port: port, from: plan.source, timeout: waitFor)
                        }
                        switch outcome {
                        case .timeout:
                            event.type = "timeout"
                            events(event)
                        case .failed(let code):
                            event.type = "error"
                            event.errno = ErrorNumber.name(code)
                            event.message = ErrorNumber.message(code)
                            events(event)
                        case .failedWith(let message):
                            event.type = "error"
                            event.message = message
                            events(event)
                        case .response(let bytes, let elapsed, let connect):
                            let message: DNSMessage
                            do {
                                message = try DNSMessage(decoding: bytes)
                            } catch {
                                event.type = "error"
                                event.message = error.description
                                events(event)
                                break
                            }
                            if transport == .udp, message.flags.truncated {
                                event.type = "truncated"
                                event.size = bytes.count
                                events(event)
                                transport = .tcp
                                continue
                            }
                            event.rcode = message.rcode.description
                            event.answers = message.answers.count
                            event.timeMs = Double(elapsed.inMicroseconds) / 1000
                            event.size = bytes.count
                            events(event)
                            answered = (message, bytes.count, serverText, server, transport, elapsed, connect)
                            break rounds
                        }
                        break
                    }
                }
            }
            guard let answered else {
                summary.namesTried.append(.init(name: name, result: "timeout"))
                break search
            }
            final = answered
            summary.namesTried.append(.init(name: name, result: answered.message.rcode.description))
            // Like glibc: go on down the search list after NXDOMAIN, or NOERROR without an answer.
            let noData = answered.message.rcode == .noError && answered.message.answers.isEmpty
            if answered.message.rcode != .nxDomain, !noData { break search }
        }

        var success = false
        if let final {
            let message = final.message
            summary.server = final.server
            summary.transport = final.transport.rawValue
            summary.id = Int(message.id)
            summary.opcode = Int(message.flags.opcode)
            summary.rcode = message.rcode.description
            summary.flags = message.flags.names
            summary.question = message.questions.map(DNSSummary.Record.init)
            summary.list(
                answer: message.answers.map(DNSSummary.Record.init), authority: message.authorities.map(DNSSummary.Record.init),
                additional: message.additionals.map(DNSSummary.Record.init)
            )
            summary.edns = message.edns.map {
                DNSSummary.OPT(udpPayloadSize: Int($0.udpPayloadSize), version: Int($0.version), dnssecOK: $0.dnssecOK)
            }
            summary.queryTimeMs = Double(final.elapsed.inMicroseconds) / 1000
            summary.connectMs = Double(final.connect.inMicroseconds) / 1000
            summary.messageSize = final.bytes
            success = plan.expectedRcodes.contains(message.rcode)
            if success, plan.requireAnswer, message.rcode == .noError, plan.expectedRcodes == [.noError] { success = !message.answers.isEmpty }
            if let address = plan.expectAddress {
                success = success && message.answers.contains { Self.address(of: $0.data) == address }
            }
            if let regex = plan.expect {
                success = success && message.answers.contains { regex.matches($0.data.presentation.utf8) }
            }
            if success, !plan.validations.isEmpty {
                let records: [DNSValidation.Section: [String]] = [
                    .answer: message.answers.map { DNSSummary.Record($0).goText },
                    .authority: message.authorities.map { DNSSummary.Record($0).goText },
                    .additional: message.additionals.map { DNSSummary.Record($0).goText },
                ]
                summary.validationFailure = DNSValidation.failure(of: plan.validations, records: records)
                success = summary.validationFailure == nil
            }
        }
        return ProbeReport(
            // The server that answered, or the first asked (blackbox's probe_ip_addr_hash is the server's, answered or not).
            probe: Self.kind, target: request.target, address: (final?.address ?? plan.servers.first?.address)?.description, success: success,
            startedAt: started,
            durationSeconds: (ContinuousClock.now - start).inSeconds, parameters: values, summary: summary,
            // The servers are addresses: nothing is resolved.
            lookupSeconds: 0
        )
    }

    /// The servers to ask: `--server`, else resolv.conf's nameservers (port 53, or 853 over TLS).
    static func servers(_ given: String?, config: ResolverConfiguration, defaultPort: UInt16 = 53) throws(ProbeError) -> [(IPAddress, UInt16)] {
        guard let given else {
            return config.nameservers.compactMap { text in IPAddress(text).map { ($0, defaultPort) } }
        }
        if let address = IPAddress(given) { return [(address, defaultPort)] }
        var host = Substring(given)
        var portText = Substring(String(defaultPort))
        if given.hasPrefix("["), let close = given.firstIndex(of: "]") {
            host = given[given.index(after: given.startIndex)..<close]
            portText = given[given.index(after: close)...].dropFirst()
        } else if let colon = given.lastIndex(of: ":"), !given[..<colon].contains(":") {
            host = given[..<colon]
            portText = given[given.index(after: colon)...]
        }
        guard let address = IPAddress(String(host)), let port = UInt16(portText), port > 0 else {
            throw ProbeError.invalid(parameter: "server", value: given, allowed: "an IP address, IP:PORT or [IPv6]:PORT")
        }
        return [(address, port)]
    }

    static func rcodes(_ text: String) throws(ProbeError) -> Set<DNSResponseCode> {
        var codes: Set<DNSResponseCode> = []
        for name in text.split(separator: ",") {
            guard let code = DNSResponseCode(name: String(name.trimmingPrefix(" "))) else {
                throw ProbeError.invalid(parameter: "expectRcode", value: text, allowed: "response code names such as NOERROR,NXDOMAIN")
            }
            codes.insert(code)
        }
        return codes
    }

    /// The names to ask and the type: the search list applied, or the PTR name of an address.
    static func names(for target: String, type: DNSType, reverse: Bool, search: Bool, config: ResolverConfiguration) throws(ProbeError) -> (
        [String], DNSType
    ) {
        if reverse {
            guard let address = IPAddress(target) else {
                throw ProbeError(.invalidTarget, "invalid target '\(target)' for -x: expected an IPv4 or IPv6 address")
            }
            return ([reverseName(address)], .ptr)
        }
        do {
            _ = try DNSMessage.labels(of: target)
        } catch {
            throw ProbeError(.invalidTarget, error.description)
        }
        let names = search ? config.candidates(for: target) : [target.hasSuffix(".") ? target : target + "."]
        // A search domain can make a valid name too long; those candidates are skipped, as glibc does.
        let valid = names.filter { (try? DNSMessage.labels(of: $0)) != nil }
        return (valid.isEmpty ? [names[0]] : valid, type)
    }

    static func reverseName(_ address: IPAddress) -> String {
        switch address {
        case .v4(let v4): return v4.bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa."
        case .v6(let v6):
            let nibbles = v6.bytes.flatMap { [$0 >> 4, $0 & 0xf] }
            return nibbles.reversed().map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa."
        }
    }

    static func address(of data: DNSRecordData) -> IPAddress? {
        switch data {
        case .a(let bytes) where bytes.count == 4: .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        case .aaaa(let bytes) where bytes.count == 16: .v6(IPv6Address(bytes: bytes))
        default: nil
        }
    }
}

/// DNSProbe's entry in the generated registry.
public enum DNSProbeRegistration: ProbeModuleRegistration {
    public static func probes(_ resources: ProbeResources) -> [any Probe] { [DNSProbe()] }
}
