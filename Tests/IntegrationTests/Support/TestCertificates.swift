import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates minted here for the TLS tests (nothing is fetched, nothing is trusted beyond this root): a root,
/// an intermediate, and leaves for `shop.test` and 10.77.2.2 — one good, one expired, one not yet valid, one for
/// another name, one self-signed — written as PEM files nginx serves; and a client certificate (`client.pem`,
/// `client.key`) for the server that requires one.
struct TestCertificates {
    let folder: String

    /// The root's PEM file (what `--cacert` trusts).
    var rootFile: String { folder + "/root.pem" }

    /// `NAME.pem` (the chain nginx sends) and `NAME.key` for each server block of `TestNetwork.startWebServer`.
    static let servers = ["good", "expired", "wrongname", "selfsigned", "leafonly"]

    /// The client certificate's chain and key (`--cert`, `--key`).
    var clientFile: String { folder + "/client.pem" }
    var clientKeyFile: String { folder + "/client.key" }

    init(folder: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let now = Date()
        let day: TimeInterval = 86_400
        let rootKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName("Sonde Test Root") }
        let root = try Self.certificate(
            subject: rootName, key: rootKey, issuer: rootName, issuerKey: rootKey, from: now - day, to: now + 3650 * day, authority: true, names: [])
        let intermediateKey = P256.Signing.PrivateKey()
        let intermediateName = try DistinguishedName { CommonName("Sonde Test Intermediate") }
        let intermediate = try Self.certificate(
            subject: intermediateName, key: intermediateKey, issuer: rootName, issuerKey: rootKey, from: now - day, to: now + 1825 * day,
            authority: true, names: [])
        let shopNames: [GeneralName] = [.dnsName("shop.test"), .dnsName("*.shop.test"), .ipAddress(ASN1OctetString(contentBytes: [10, 77, 2, 2]))]
        let shop = try DistinguishedName { CommonName("shop.test") }

        func leaf(
            _ from: Date, _ to: Date, names: [GeneralName], subject: DistinguishedName = shop, usage: ExtendedKeyUsage.Usage = .serverAuth
        ) throws -> (Certificate, P256.Signing.PrivateKey) {
            let key = P256.Signing.PrivateKey()
            let certificate = try Self.certificate(
                subject: subject, key: key, issuer: intermediateName, issuerKey: intermediateKey, from: from, to: to, authority: false,
                names: names, usage: usage)
            return (certificate, key)
        }
        let good = try leaf(now - day, now + 90 * day, names: shopNames)
        let expired = try leaf(now - 400 * day, now - 30 * day, names: shopNames)
        let wrongName = try leaf(now - day, now + 90 * day, names: [.dnsName("other.test")])
        let notYet = try leaf(now + 10 * day, now + 100 * day, names: shopNames)
        let client = try leaf(
            now - day, now + 30 * day, names: [.dnsName("client.test")], subject: DistinguishedName { CommonName("sonde client") }, usage: .clientAuth
        )
        let selfKey = P256.Signing.PrivateKey()
        let selfSigned = try Self.certificate(
            subject: shop, key: selfKey, issuer: shop, issuerKey: selfKey, from: now - day, to: now + 90 * day, authority: false, names: shopNames)

        try Self.pem([root]).write(toFile: rootFile, atomically: true, encoding: .utf8)
        let chains: [(String, [Certificate], P256.Signing.PrivateKey)] = [
            ("good", [good.0, intermediate], good.1), ("expired", [expired.0, intermediate], expired.1),
            ("wrongname", [wrongName.0, intermediate], wrongName.1), ("selfsigned", [selfSigned], selfKey), ("leafonly", [good.0], good.1),
            ("notyet", [notYet.0, intermediate], notYet.1), ("client", [client.0, intermediate], client.1),
        ]
        for (name, chain, key) in chains {
            try Self.pem(chain).write(toFile: "\(folder)/\(name).pem", atomically: true, encoding: .utf8)
            try key.pemRepresentation.write(toFile: "\(folder)/\(name).key", atomically: true, encoding: .utf8)
        }
    }

    private static func certificate(
        subject: DistinguishedName, key: P256.Signing.PrivateKey, issuer: DistinguishedName, issuerKey: P256.Signing.PrivateKey,
        from: Date, to: Date, authority: Bool, names: [GeneralName], usage: ExtendedKeyUsage.Usage = .serverAuth
    ) throws -> Certificate {
        let extensions = try Certificate.Extensions {
            Critical(authority ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
            Critical(authority ? KeyUsage(keyCertSign: true, cRLSign: true) : KeyUsage(digitalSignature: true))
            if !authority {
                try ExtendedKeyUsage([usage])
                SubjectAlternativeNames(names)
            }
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey), notValidBefore: from, notValidAfter: to,
            issuer: issuer, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(issuerKey))
    }

    private static func pem(_ chain: [Certificate]) throws -> String {
        try chain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }
}
