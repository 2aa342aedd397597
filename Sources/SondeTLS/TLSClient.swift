public import NIOSSL
public import SondeCore
import Synchronization
public import X509

/// The TLS side of a run, made once: the client context (Sonde judges the chain itself, so BoringSSL's own
/// verification is replaced), the client certificate if any, and the trust store (the system's, or `--cacert`).
public struct TLSClient: Sendable {
    public var context: NIOSSLContext
    public var roots: CertificateStore
    public var options: TLSOptions

    /// The largest PEM file read (`--cacert`, `--cert`, `--key`).
    static let maxFileBytes = 4 << 20

    /// Contexts already made, by ALPN list and versions (those without a client certificate: the same for every run).
    /// Making one costs milliseconds, which a sidecar answering many probes a second should pay once.
    private static let contexts = Mutex<[[String]: NIOSSLContext]>([:])

    /// - Parameter applicationProtocols: what ALPN offers (`http/1.1`); none for a bare TLS connection.
    public init(_ options: TLSOptions, applicationProtocols: [String] = []) throws(ProbeError) {
        self.options = options
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = Self.version(options.minimumVersion)
        configuration.maximumTLSVersion = options.maximumVersion.map(Self.version)
        // Replaced by Sonde's own verification (TLSInspector), which can still report a chain it refuses.
        configuration.certificateVerification = .noHostnameVerification
        configuration.applicationProtocols = applicationProtocols
        // BoringSSL's own trust store is never consulted (the callback above decides), so it is not loaded either:
        // parsing the system bundle costs milliseconds per context.
        configuration.trustRoots = .certificates([])
        let key = applicationProtocols + ["min " + options.minimumVersion, "max " + (options.maximumVersion ?? "")]
        let shared = options.presentsCertificate ? nil : Self.contexts.withLock { $0[key] }
        if options.presentsCertificate {
            let (certificateBytes, certificateName, certificateValue) = try Self.pem(options.certificatePEM, file: options.certificateFile, "cert")
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
            } catch {
                throw ProbeError.invalid(parameter: certificateName, value: certificateValue, allowed: "PEM of the client certificate (\(error))")
            }
            guard !chain.isEmpty else {
                throw ProbeError.invalid(
                    parameter: certificateName, value: certificateValue, allowed: "PEM with a certificate (-----BEGIN CERTIFICATE-----)")
            }
            configuration.certificateChain = chain.map { .certificate($0) }
            let (keyBytes, keyName, keyValue) = try Self.pem(options.keyPEM, file: options.keyFile, "key")
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyBytes, format: .pem))
            } catch {
                throw ProbeError.invalid(parameter: keyName, value: keyValue, allowed: "PEM of the client certificate's private key (\(error))")
            }
        }
        do {
            if let shared {
                context = shared
            } else {
                context = try NIOSSLContext(configuration: configuration)
                if !options.presentsCertificate { Self.contexts.withLock { [context] in $0[key] = context } }
            }
        } catch {
            guard options.presentsCertificate else { throw ProbeError(.socketUnavailable, "cannot set up TLS: \(error)") }
            let (name, value) = options.keyPEM != nil ? ("keyPem", "(PEM text)") : ("key", options.keyFile ?? "")
            throw ProbeError.invalid(parameter: name, value: value, allowed: "the private key of the client certificate (\(error))")
        }
        if options.caFile != nil || options.caPEM != nil {
            let (bytes, name, value) = try Self.pem(options.caPEM, file: options.caFile, "cacert")
            roots = CertificateStore(try TLSInspector.certificates(pem: String(decoding: bytes, as: UTF8.self), file: value, parameter: name))
        } else {
            roots = CertificateStore.systemTrustRoots
        }
    }

    private static func version(_ name: String) -> TLSVersion {
        switch name {
        case "1.1": .tlsv11
        case "1.2": .tlsv12
        case "1.3": .tlsv13
        default: .tlsv1
        }
    }

    /// PEM given inline (`NAMEPem`) or read from its file (`NAME`): the bytes, and the parameter and value an error names.
    private static func pem(_ text: String?, file: String?, _ name: String) throws(ProbeError) -> ([UInt8], String, String) {
        if let text { return (Array(text.utf8), name + "Pem", "(PEM text)") }
        let path = file ?? ""
        return (try read(path, parameter: name), name, path)
    }

    private static func read(_ file: String, parameter: String) throws(ProbeError) -> [UInt8] {
        do {
            return try SmallFile.contents(of: file, maxBytes: maxFileBytes)
        } catch {
            throw ProbeError.invalid(parameter: parameter, value: file, allowed: "a readable PEM file of at most 4 MiB (\(error))")
        }
    }

    /// How to talk to `host`: SNI is `--servername` when the host is the run's own target (a redirect elsewhere
    /// sends its own name), else the host unless it is an address (SNI carries names only); the certificate must
    /// name the same.
    public func setup(for host: String, isTarget: Bool) -> TLSSetup {
        let overridden = isTarget ? options.serverName : nil
        let name = overridden ?? (IPAddress(host) == nil ? host : nil)
        return TLSSetup(
            context: context, serverName: name, inspector: TLSInspector(roots: roots, expectedName: overridden ?? host), insecure: options.insecure)
    }
}
