public import SondeCore

/// The TLS parameters every TLS-speaking probe takes, declared once: how the server is judged (`-k`,
/// `--servername`, `--cacert`, `--min-days-left`) and who the client is (`--cert`, `--key`).
public enum TLSParameters {
    /// The declarations, in the order help lists them.
    public static let specs: [ParameterSpec] = [
        ParameterSpec(
            "insecure", .boolean, default: .boolean(false),
            summary: "Go on when the certificate is not trusted for this host (what would have failed is still reported)", cli: .init(short: "k")),
        ParameterSpec(
            "servername", .text(maxLength: 253, format: .any),
            summary: "Name to send in SNI and to check the certificate against (default: the target's host)"),
        ParameterSpec(
            "cacert", .text(maxLength: 4096, format: .filePath),
            summary: "PEM file of the CAs to trust instead of the system's (command line only: a sidecar reads no file a caller names)"),
        ParameterSpec(
            "cert", .text(maxLength: 4096, format: .filePath),
            summary: "PEM file of the client certificate (and its chain) for servers that require one (command line only)"),
        ParameterSpec(
            "key", .text(maxLength: 4096, format: .filePath), summary: "PEM file of the client certificate's private key (command line only)"),
        ParameterSpec(
            "cacertPem", .text(maxLength: TLSOptions.maxPEMText, format: .pem),
            summary: "The CAs to trust instead of the system's, as PEM text rather than a file (blackbox's tls_config.ca; allowed over the API)"),
        ParameterSpec(
            "certPem", .text(maxLength: TLSOptions.maxPEMText, format: .pem),
            summary: "The client certificate (and its chain) as PEM text (blackbox's tls_config.cert)"),
        ParameterSpec(
            "keyPem", .text(maxLength: TLSOptions.maxPEMText, format: .pem),
            summary: "The client certificate's private key as PEM text (blackbox's tls_config.key; never shown back)"),
        ParameterSpec("minDaysLeft", .integer(0...3650), summary: "Fail when a certificate of the chain expires within this many days"),
        ParameterSpec(
            "tlsMin", .choice(TLSOptions.versions), default: .string("1.0"),
            summary: "Lowest TLS version to offer (curl's --tlsv1.N; blackbox's min_version)"),
        ParameterSpec("tlsMax", .choice(TLSOptions.versions), summary: "Highest TLS version to offer (curl's --tls-max; blackbox's max_version)"),
    ]

    /// The parameters that name a file on the probing host.
    static let files = ["cacert", "cert", "key"]
}

/// The TLS parameters of one run, read once.
public struct TLSOptions: Sendable {
    /// Go on when the chain is not trusted (`-k`); what would have failed is still reported.
    public var insecure: Bool
    /// The name sent in SNI and checked against the certificate, instead of the target's host.
    public var serverName: String?
    /// A PEM file of the CAs to trust instead of the system's (`--cacert`).
    public var caFile: String?
    /// The client certificate (PEM, leaf first) and its key, for mutual TLS.
    public var certificateFile: String?
    public var keyFile: String?
    /// The same three as PEM text given inline (`cacertPem`, `certPem`, `keyPem`), each instead of its file.
    public var caPEM: String?
    public var certificatePEM: String?
    public var keyPEM: String?
    /// Fail when a certificate of the chain expires sooner than this many days.
    public var minDaysLeft: Int?
    /// The versions offered: `1.0`…`1.3` (`tlsMin`, `tlsMax`).
    public var minimumVersion: String
    public var maximumVersion: String?

    /// What `tlsMin` and `tlsMax` take.
    public static let versions = ["1.0", "1.1", "1.2", "1.3"]

    /// The longest inline PEM text: a CA bundle of a few dozen certificates.
    public static let maxPEMText = 65_536

    /// Whether a client certificate is presented (from a file or inline).
    public var presentsCertificate: Bool { certificateFile != nil || certificatePEM != nil }

    public init(_ values: ParameterValues) throws(ProbeError) {
        insecure = values.boolean("insecure") ?? false
        serverName = values.string("servername")?.lowercased()
        caFile = values.string("cacert")
        certificateFile = values.string("cert")
        keyFile = values.string("key")
        caPEM = values.string("cacertPem")
        certificatePEM = values.string("certPem")
        keyPEM = values.string("keyPem")
        for (file, text, name) in [(caFile, caPEM, "cacert"), (certificateFile, certificatePEM, "cert"), (keyFile, keyPEM, "key")]
        where file != nil && text != nil {
            throw ProbeError.invalid(parameter: name + "Pem", value: "(PEM text)", allowed: "--\(name) FILE or --\(name)-pem TEXT, not both")
        }
        minDaysLeft = values.integer("minDaysLeft")
        minimumVersion = values.string("tlsMin") ?? "1.0"
        maximumVersion = values.string("tlsMax")
        if let maximumVersion, maximumVersion < minimumVersion {
            throw ProbeError.invalid(parameter: "tlsMax", value: maximumVersion, allowed: "a version no lower than tlsMin (\(minimumVersion))")
        }
        if let name = serverName, IPAddress(name) != nil || !HostName.isValid(name) {
            throw ProbeError.invalid(parameter: "servername", value: name, allowed: "a DNS name (SNI carries no address), e.g. shop.example")
        }
        switch (presentsCertificate, keyFile != nil || keyPEM != nil) {
        case (true, false):
            throw ProbeError.invalid(parameter: "key", value: "", allowed: "the client key's PEM file (or --key-pem), given with --cert")
        case (false, true):
            throw ProbeError.invalid(parameter: "cert", value: "", allowed: "the client certificate's PEM file (or --cert-pem), given with --key")
        default: break
        }
    }

    /// A sidecar reads no file a caller names: refuses `--cacert`, `--cert` and `--key` when the run has a
    /// policy (it came over the API), unless they are the operator's own (a module of `/probe`).
    public func checkFiles(_ context: ProbeContext) throws(ProbeError) {
        guard context.policy != nil, !context.readsOperatorFiles else { return }
        for (name, file) in zip(TLSParameters.files, [caFile, certificateFile, keyFile]) {
            guard let file else { continue }
            throw ProbeError.invalid(
                parameter: name, value: file,
                allowed: "nothing over the API: a sidecar reads no file a caller names (it trusts its system's CAs; -k to look at any chain)")
        }
    }
}
