public import SondeCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One certificate as the probe reports it.
public struct TLSCertificateFacts: Codable, Sendable, Equatable {
    /// RFC 4514, most specific first: `CN=shop.test,O=Shop`.
    public var subject: String
    public var issuer: String
    /// The subject alternative names: DNS names and IP addresses.
    public var names: [String]
    public var notBefore: Date
    public var notAfter: Date
    /// Days from now to `notAfter` (negative once expired), to a tenth.
    public var daysLeft: Double
    public var serial: String
    /// SHA-256 of the DER encoding, lowercase hex (blackbox_exporter's `fingerprint_sha256`).
    public var sha256: String
}

/// What the TLS handshake showed: version, ALPN, the name sent, the chain presented and the chain verified, and
/// in words why it is not trusted for this host.
public struct TLSFacts: Codable, Sendable, Equatable {
    /// `TLSv1.3`, `TLSv1.2`, … (absent when the handshake did not finish).
    public var version: String?
    public var alpn: String?
    /// The name sent in SNI; absent for an address without `--servername`.
    public var serverName: String?
    /// As the server sent it, leaf first.
    public var presented: [TLSCertificateFacts]
    /// The chain from the leaf to a trusted root, when one could be built.
    public var verified: [TLSCertificateFacts]?
    /// Empty when the chain is trusted and names this host: `expired`, `not yet valid`, `host name mismatch`, …
    public var problems: [String]
    /// Verification was skipped (`-k`): ``problems`` say what would have failed.
    public var insecure: Bool
}

extension TLSFacts {
    /// `time.Time{}.Unix()` in Go: what blackbox reports as the last chain's expiry when no chain was verified.
    static let goZeroTime = -62_135_596_800.0

    /// blackbox_exporter's TLS series, as its http and tcp probers write them for the final connection.
    public var metricSamples: [MetricSample] {
        var samples: [MetricSample] = []
        if let earliest = presented.map(\.notAfter).min() {
            samples.append(
                MetricSample("probe_ssl_earliest_cert_expiry", earliest.timeIntervalSince1970, help: "Returns earliest SSL cert expiry in unixtime"))
        }
        if !presented.isEmpty {
            // Without a verified chain (-k) blackbox still writes the series: Go's zero time, year 1.
            let earliest = verified?.map(\.notAfter).min()?.timeIntervalSince1970 ?? Self.goZeroTime
            samples.append(
                MetricSample(
                    "probe_ssl_last_chain_expiry_timestamp_seconds", earliest,
                    help: "Returns last SSL chain expiry in timestamp"
                ))
        }
        if let leaf = presented.first {
            samples.append(
                MetricSample(
                    "probe_ssl_last_chain_info", 1, help: "Contains SSL leaf certificate information",
                    labels: [
                        "fingerprint_sha256": leaf.sha256, "subject": leaf.subject, "issuer": leaf.issuer,
                        "subjectalternative": leaf.names.joined(separator: ","), "serialnumber": leaf.serial,
                    ]))
        }
        if let version {
            samples.append(
                MetricSample(
                    "probe_tls_version_info", 1, help: "Returns the TLS version used or NaN when unknown",
                    labels: ["version": "TLS " + version.dropFirst("TLSv".count)]))
        }
        return samples
    }

    /// The handshake as `curl -v` users read it: version, ALPN and SNI, the leaf, the verified chain, the verdict.
    public var textLines: [TextLine] {
        var lines = [TextLine("* \(version ?? "TLS (handshake not finished)"), ALPN \(alpn ?? "none"), SNI \(serverName ?? "none")")]
        if let leaf = presented.first {
            let names = leaf.names.isEmpty ? "" : " (\(leaf.names.joined(separator: ", ")))"
            lines.append(
                TextLine(
                    "* certificate: \(leaf.subject)\(names), issuer \(leaf.issuer), expires \(TLSInspector.day(leaf.notAfter)) "
                        + "(\(DecimalFormat.shortest(leaf.daysLeft)) days)"))
        }
        if let verified {
            lines.append(TextLine("* verified: " + verified.map(\.subject).joined(separator: " → ")))
        }
        for problem in problems {
            lines.append(TextLine(insecure ? "* not trusted (going on: -k): \(problem)" : "* not trusted: \(problem)"))
        }
        return lines
    }

    /// Why the chain fails `--min-days-left`, if it does: its first certificate to expire, and when.
    public func expiresTooSoon(minimumDays: Int) -> String? {
        guard let earliest = (verified ?? presented).min(by: { $0.notAfter < $1.notAfter }), earliest.daysLeft < Double(minimumDays) else {
            return nil
        }
        return "\(earliest.subject) expires in \(DecimalFormat.shortest(earliest.daysLeft)) days (--min-days-left \(minimumDays))"
    }
}
