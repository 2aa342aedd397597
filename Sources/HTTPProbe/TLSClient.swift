import NIOSSL
import SondeCore
import X509

/// The TLS side of a run, made once: the client context (Sonde judges the chain itself, so BoringSSL's own
/// verification is replaced) and the trust store (the system's, or `--cacert`).
struct TLSClient: Sendable {
    var context: NIOSSLContext
    var roots: CertificateStore

    /// The largest `--cacert` file read.
    static let maxCAFileBytes = 4 << 20

    init(_ plan: HTTPPlan) throws(ProbeError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv1
        // Replaced by Sonde's own verification (TLSInspector), which can still report a chain it refuses.
        configuration.certificateVerification = .noHostnameVerification
        configuration.applicationProtocols = ["http/1.1"]
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ProbeError(.socketUnavailable, "cannot set up TLS: \(error)")
        }
        if let file = plan.caFile {
            let bytes: [UInt8]
            do {
                bytes = try SmallFile.contents(of: file, maxBytes: Self.maxCAFileBytes)
            } catch {
                throw ProbeError.invalid(parameter: "cacert", value: file, allowed: "a readable PEM file of at most 4 MiB (\(error))")
            }
            roots = CertificateStore(try TLSInspector.certificates(pem: String(decoding: bytes, as: UTF8.self), file: file))
        } else {
            roots = CertificateStore.systemTrustRoots
        }
    }

    /// How to talk to `url`: SNI is `--servername` for the target's own host, else the URL's host unless it is an
    /// address (SNI carries names only); the certificate must name the same.
    func setup(for url: HTTPTarget, plan: HTTPPlan) -> HTTPExchange.TLSSetup {
        let overridden = url.host == plan.target.host ? plan.serverName : nil
        let name = overridden ?? (IPAddress(url.host) == nil ? url.host : nil)
        return HTTPExchange.TLSSetup(
            context: context, serverName: name, inspector: TLSInspector(roots: roots, expectedName: overridden ?? url.host),
            insecure: plan.insecure)
    }
}
