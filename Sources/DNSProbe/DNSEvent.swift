public import SondeCore
public import SondeTLS

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One thing that happened during a DNS probe.
///
/// JSON: a flat object whose `type` is
/// - `response`: a server answered `name`: `server`, `transport` (`UDP`/`TCP`/`TLS`), `rcode`, `answers`, `timeMs`, `size`;
/// - `truncated`: a UDP answer had TC set; the same server is asked again over TCP;
/// - `timeout`: no answer from `server` within the timeout (`attempt` counts from 1);
/// - `error`: the query could not be sent or the answer not read or parsed: `errno` or `message`.
public struct DNSEvent: ProbeEvent, Equatable {
    public var type: String
    public var time: Date
    public var target: String
    public var name: String?
    public var server: String?
    public var transport: String?
    public var attempt: Int?
    public var rcode: String?
    public var answers: Int?
    public var timeMs: Double?
    public var size: Int?
    public var errno: String?
    public var message: String?

    init(_ type: String, target: String, name: String, server: String, transport: String) {
        self.type = type
        self.time = Date()
        self.target = target
        self.name = name
        self.server = server
        self.transport = transport
    }
}

/// A DNS probe's result: the final response in full, and every name tried on the way.
public struct DNSSummary: ProbeSummary, Equatable {
    public struct NameTried: Codable, Sendable, Equatable {
        public var name: String
        /// The response code, or `timeout` when no server answered.
        public var result: String
    }

    public struct Record: Codable, Sendable, Equatable {
        public var name: String
        public var ttl: UInt32?
        public var `class`: String
        public var type: String
        public var data: String?
    }

    public struct OPT: Codable, Sendable, Equatable {
        public var udpPayloadSize: Int
        public var version: Int
        public var dnssecOK: Bool
    }

    public var namesTried: [NameTried] = []
    public var queries = 0
    public var server: String?
    public var transport: String?
    public var id: Int?
    public var opcode: Int?
    public var rcode: String?
    public var flags: [String] = []
    public var question: [Record] = []
    public var answer: [Record] = []
    public var authority: [Record] = []
    public var additional: [Record] = []
    public var edns: OPT?
    public var queryTimeMs: Double?
    /// The part of ``queryTimeMs`` the connect took (TCP's handshake; a UDP connect sends nothing).
    public var connectMs: Double?
    public var messageSize: Int?
    /// Why `--validate` failed the answer (the first reason), when it did.
    public var validationFailure: String?
    /// Over TLS (`--tls`): the last handshake's facts (version, the chain, its problems).
    public var tls: TLSFacts?
    /// Records counted but not listed, per section, when a section had more than ``maxListedRecords``: a
    /// 64 KiB answer of compressed records would otherwise become a report of megabytes.
    public var omitted: Omitted?

    /// The most records listed per section.
    public static let maxListedRecords = 100

    public struct Omitted: Codable, Sendable, Equatable {
        public var answer = 0
        public var authority = 0
        public var additional = 0
    }

    /// Records in each section as the message had them, listed or not.
    public var answerCount: Int { answer.count + (omitted?.answer ?? 0) }
    public var authorityCount: Int { authority.count + (omitted?.authority ?? 0) }
    public var additionalCount: Int { additional.count + (omitted?.additional ?? 0) }

    /// Fills the three record sections, keeping the first ``maxListedRecords`` of each.
    mutating func list(answer: [Record], authority: [Record], additional: [Record]) {
        let limit = Self.maxListedRecords
        self.answer = Array(answer.prefix(limit))
        self.authority = Array(authority.prefix(limit))
        self.additional = Array(additional.prefix(limit))
        let left = Omitted(
            answer: max(0, answer.count - limit), authority: max(0, authority.count - limit), additional: max(0, additional.count - limit)
        )
        omitted = left == Omitted() ? nil : left
    }
}

extension DNSSummary: ProbeMetricsReporting {
    public var metricSamples: [MetricSample] {
        var samples = [
            MetricSample("probe_dns_query_succeeded", rcode == nil ? 0 : 1, help: "Whether a server answered the query"),
            MetricSample("probe_dns_answer_rrs", Double(answerCount), help: "Records in the answer section"),
            MetricSample("probe_dns_authority_rrs", Double(authorityCount), help: "Records in the authority section"),
            MetricSample("probe_dns_additional_rrs", Double(additionalCount), help: "Records in the additional section"),
            MetricSample("probe_dns_queries", Double(queries), help: "Queries sent, retries and search-list names included"),
        ]
        if let rcode, let code = DNSResponseCode(name: rcode) {
            samples.append(
                MetricSample("probe_dns_rcode", Double(code.rawValue), help: "Response code of the answer (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, …)"))
        }
        if queries > 0 {
            // blackbox's phases: resolving the server (an address here: nothing), the connect, the exchange after it;
            // written for an unanswered query too (zero), as blackbox writes them.
            let connect = (connectMs ?? 0) / 1000
            for (phase, seconds) in [("resolve", 0), ("connect", connect), ("request", (queryTimeMs ?? 0) / 1000 - connect)] {
                samples.append(
                    MetricSample(
                        "probe_dns_duration_seconds", max(0, seconds), help: "Duration of the DNS request by phase", labels: ["phase": phase]))
            }
        }
        // Over TLS, the certificate metrics of the other TLS probes (Sonde's addition: blackbox reports none for DoT).
        samples += tls?.metricSamples ?? []
        return samples
    }
}
