import Crypto
public import SondeCore
import SwiftASN1
public import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Checks a presented chain as a client would (RFC 5280 path building to the trust store, then the host name
/// against the leaf's names) and says in words what is wrong.
public struct TLSInspector: Sendable {
    public var roots: CertificateStore
    /// What the leaf must name: the target's host, or `--servername`.
    public var expectedName: String

    public init(roots: CertificateStore, expectedName: String) {
        self.roots = roots
        self.expectedName = expectedName
    }

    /// The facts and the problems of `presented` (DER, leaf first) at `now`.
    public func inspect(_ presented: [[UInt8]], now: Date = Date()) async -> (
        presented: [TLSCertificateFacts], verified: [TLSCertificateFacts]?, problems: [String]
    ) {
        let certificates = presented.compactMap { try? Certificate(derEncoded: $0) }
        let facts = zip(certificates, presented).map { Self.facts($0, der: $1, now: now) }
        guard let leaf = certificates.first, certificates.count == presented.count else {
            return (facts, nil, ["the server's certificate cannot be parsed"])
        }
        var problems: [String] = []
        if now > leaf.notValidAfter { problems.append("expired \(Self.day(leaf.notValidAfter)) (\(Self.days(now, leaf.notValidAfter)) days ago)") }
        if now < leaf.notValidBefore { problems.append("not yet valid: valid from \(Self.day(leaf.notValidBefore))") }
        let names = facts[0].names
        if !Self.matches(expectedName, names: names) {
            problems.append(
                "host name mismatch: the certificate is for \(names.isEmpty ? "no name (no subject alternative names)" : names.joined(separator: ", ")), not \(expectedName)"
            )
        }
        for (index, intermediate) in certificates.enumerated().dropFirst() where now > intermediate.notValidAfter {
            problems.append("certificate \(index + 1) of the chain (\(intermediate.subject)) expired \(Self.day(intermediate.notValidAfter))")
        }
        var chain = await validate(certificates, at: now)
        if chain == nil, !problems.isEmpty, let moment = Self.commonValidMoment(certificates) {
            // Expired or not yet valid: is it trusted otherwise? Ask again at a moment every certificate was valid.
            chain = await validate(certificates, at: moment)
        }
        if chain == nil { problems.append(Self.chainProblem(certificates)) }
        return (facts, chain?.map { Self.facts($0, der: Self.der($0), now: now) }, problems)
    }

    private func validate(_ certificates: [Certificate], at moment: Date) async -> [Certificate]? {
        guard let leaf = certificates.first else { return nil }
        var verifier = Verifier(rootCertificates: roots) { RFC5280Policy(validationTime: moment) }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(certificates.dropFirst())) {
        case .validCertificate(let chain): return Array(chain)
        case .couldNotValidate: return nil
        }
    }

    /// A moment when every certificate of the chain was valid, if there is one.
    private static func commonValidMoment(_ certificates: [Certificate]) -> Date? {
        guard let start = certificates.map(\.notValidBefore).max(), let end = certificates.map(\.notValidAfter).min(), start < end else {
            return nil
        }
        return start.addingTimeInterval(1)
    }

    /// Why no chain to a trusted root could be built, in the words an operator searches for.
    private static func chainProblem(_ certificates: [Certificate]) -> String {
        guard let leaf = certificates.first else { return "no certificate" }
        if leaf.issuer == leaf.subject {
            return "self-signed: \(leaf.subject) is not a trusted root here (give it with --cacert, or -k to look anyway)"
        }
        // The top of what was presented: a certificate whose issuer was not presented.
        let subjects = Set(certificates.map(\.subject))
        let top = certificates.first { !subjects.contains($0.issuer) } ?? leaf
        if certificates.count == 1 {
            return "unknown issuer: nothing trusted here issued it (\(leaf.issuer)); the server sends no intermediate: "
                + "a missing intermediate, or a CA to give with --cacert"
        }
        return "unknown issuer: the chain ends at \(top.subject), issued by \(top.issuer), which is not trusted here"
    }

    /// RFC 6125: a DNS name matches case-insensitively, a `*.` wildcard only the whole left-most label; an
    /// address matches an IP name.
    public static func matches(_ host: String, names: [String]) -> Bool {
        if let address = IPAddress(host) { return names.contains { IPAddress($0) == address } }
        let wanted = host.lowercased().split(separator: ".")
        return names.contains { name in
            let labels = name.lowercased().split(separator: ".")
            guard labels.count == wanted.count, !labels.isEmpty else { return false }
            if labels[0] == "*" { return labels.count > 2 && labels.dropFirst() == wanted.dropFirst() }
            return labels == wanted
        }
    }

    static func facts(_ certificate: Certificate, der: [UInt8], now: Date) -> TLSCertificateFacts {
        var names: [String] = []
        let alternatives: SubjectAlternativeNames? = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        for name in alternatives.map(Array.init) ?? [] {
            switch name {
            case .dnsName(let dns): names.append(dns)
            case .ipAddress(let bytes):
                let octets = Array(bytes.bytes)
                if octets.count == 4 {
                    names.append(IPAddress.v4(IPv4Address(octets[0], octets[1], octets[2], octets[3])).description)
                } else if octets.count == 16 {
                    names.append(IPAddress.v6(IPv6Address(bytes: octets)).description)
                }
            default: break
            }
        }
        return TLSCertificateFacts(
            subject: certificate.subject.description, issuer: certificate.issuer.description, names: names,
            notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter,
            daysLeft: (certificate.notValidAfter.timeIntervalSince(now) / 8640).rounded() / 10, serial: certificate.serialNumber.description,
            sha256: SHA256.hash(data: der).map { String($0, radix: 16).leftPadded }.joined())
    }

    static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// `2026-12-02`.
    public static func day(_ date: Date) -> String {
        String(date.ISO8601Format().prefix(10))
    }

    static func days(_ later: Date, _ earlier: Date) -> Int { Int(later.timeIntervalSince(earlier) / 86_400) }

    /// The certificates of PEM text (`--cacert`'s file, or `--cacert-pem`); `parameter` and `file` name it in an error.
    static func certificates(pem text: String, file: String, parameter: String = "cacert") throws(ProbeError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw ProbeError.invalid(parameter: parameter, value: file, allowed: "PEM certificates (-----BEGIN CERTIFICATE-----)")
        }
        var certificates: [Certificate] = []
        for document in documents where document.discriminator == "CERTIFICATE" {
            guard let certificate = try? Certificate(pemDocument: document) else {
                throw ProbeError.invalid(parameter: parameter, value: file, allowed: "PEM certificates that parse as X.509")
            }
            certificates.append(certificate)
        }
        guard !certificates.isEmpty else {
            throw ProbeError.invalid(parameter: parameter, value: file, allowed: "PEM certificates (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
