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
        let shared = options.certificateFile == nil ? Self.contexts.withLock { $0[key] } : nil
        if let certificateFile = options.certificateFile, let keyFile = options.keyFile {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(try Self.read(certificateFile, parameter: "cert"))
            } catch let error as ProbeError {
                throw error
            } catch {
                throw ProbeError.invalid(parameter: "cert", value: certificateFile, allowed: "a PEM file of the client certificate (\(error))")
            }
            guard !chain.isEmpty else {
                throw ProbeError.invalid(
                    parameter: "cert", value: certificateFile, allowed: "a PEM file with a certificate (-----BEGIN CERTIFICATE-----)")
            }
            configuration.certificateChain = chain.map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: try Self.read(keyFile, parameter: "key"), format: .pem))
            } catch let error as ProbeError {
                throw error
            } catch {
                throw ProbeError.invalid(parameter: "key", value: keyFile, allowed: "a PEM file of the client certificate's private key (\(error))")
            }
        }
        do {
            if let shared {
                context = shared
            } else {
                context = try NIOSSLContext(configuration: configuration)
                if options.certificateFile == nil { Self.contexts.withLock { [context] in $0[key] = context } }
            }
        } catch {
            guard let keyFile = options.keyFile else { throw ProbeError(.socketUnavailable, "cannot set up TLS: \(error)") }
            throw ProbeError.invalid(parameter: "key", value: keyFile, allowed: "the private key of the --cert certificate (\(error))")
        }
        if let file = options.caFile {
            let bytes = try Self.read(file, parameter: "cacert")
            roots = CertificateStore(try TLSInspector.certificates(pem: String(decoding: bytes, as: UTF8.self), file: file))
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
