import SondeCore
import SondeHTTP
import SondeRegex
import SondeYAML

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A module written for blackbox_exporter (`prober:` with an `icmp`, `tcp`, `http`, `dns` or `grpc` block), read into
/// the Sonde probe and parameters that do the same. Every key is either honoured or refused with the module,
/// the key and why: nothing is silently ignored, and unknown keys are errors, as in blackbox.
struct BlackboxModuleTranslation {
    /// What a module becomes.
    struct Result {
        var probe: String
        var timeout: YAMLNode?
        var parameters: [String: ParameterValue] = [:]
        var targetParameter: String?
        var probeTarget: String?
        var targetForm: BlackboxModules.TargetForm = .asGiven
        /// An http module's `Host` header: blackbox sends it as the request's host (and SNI).
        var hostname: String?
    }

    private let name: String
    private var result: Result
    private let files: ModuleFiles?

    /// Refusals that are not "unknown key": blackbox options Sonde does not do (yet), with the reason.
    private static let notSupported: [String: String] = [
        "unix": "the unix prober is not in Sonde (a sidecar probes its pod's network, not its sockets)",
        "websocket": "the websocket prober (blackbox's development branch, in no release) is not in Sonde",
        "fail_if_body_json_matches_cel": "CEL expressions are not in Sonde; check the body with fail_if_body_matches_regexp",
        "fail_if_body_json_not_matches_cel": "CEL expressions are not in Sonde; check the body with fail_if_body_not_matches_regexp",
        "oauth2": "OAuth 2 token requests are not in Sonde; give a token with authorization.credentials_file (and reload when it rotates)",
        "proxy_url": "Sonde connects directly: a proxy would hide the pod's own path",
        "no_proxy": "Sonde connects directly: a proxy would hide the pod's own path",
        "proxy_from_environment": "Sonde connects directly: a proxy would hide the pod's own path",
        "proxy_connect_header": "Sonde connects directly: a proxy would hide the pod's own path",
        "skip_resolve_phase_with_proxy": "Sonde connects directly: a proxy would hide the pod's own path",
        "enable_http3": "HTTP/3 (QUIC) is not in Sonde, which speaks HTTP/1.1 and HTTP/2",
        "next_protos": "Sonde offers h2 and http/1.1 by ALPN itself",
    ]

    /// - Parameter files: where the files a module names (credentials, bodies) are read from; `nil` refuses them.
    static func translate(_ node: YAMLNode, name: String, files: ModuleFiles?) throws(SettingsError) -> Result {
        var translation = BlackboxModuleTranslation(name: name, result: Result(probe: ""), files: files)
        try translation.module(node)
        return translation.result
    }

    // MARK: The module and its prober blocks

    private mutating func module(_ node: YAMLNode) throws(SettingsError) {
        let prober = try text(node["prober"], "prober")
        let probers = ["icmp": "ping", "tcp": "tcp", "http": "http", "dns": "dns", "grpc": "grpc"]
        guard let probe = probers[prober] else {
            if let reason = Self.notSupported[prober] { throw refusal("prober", node["prober"], reason) }
            throw refusal("prober", node["prober"], "expected one of icmp, tcp, http, dns, grpc")
        }
        result.probe = probe
        if prober == "http" { httpDefaults() }
        for pair in try pairs(node, "") {
            let key = pair.key.text ?? ""
            switch key {
            case "prober": break
            case "timeout": result.timeout = pair.value
            case prober:
                switch prober {
                case "icmp": try icmp(pair.value)
                case "tcp": try tcp(pair.value)
                case "http": try http(pair.value)
                case "grpc": try grpc(pair.value)
                default: try dns(pair.value)
                }
            case "icmp", "tcp", "http", "dns", "grpc", "unix", "websocket":
                throw refusal(key, pair.value, "the module's prober is \(prober); a \(key) block here would never be used")
            default:
                throw unknown(key, pair.key)
            }
        }
        // Not set: blackbox's default, IPv6 first (the DNS probe takes its server as an address).
        if prober != "dns", result.parameters["family"] == nil { result.parameters["family"] = .string("prefer-ipv6") }
    }

    private mutating func icmp(_ node: YAMLNode) throws(SettingsError) {
        // One echo request per probe, as blackbox sends.
        result.parameters["count"] = .integer(1)
        for pair in try pairs(node, "icmp.") {
            let key = pair.key.text ?? ""
            switch key {
            case "preferred_ip_protocol", "ip_protocol_fallback": try family(node, "icmp.")
            case "source_ip_address": result.parameters["interface"] = .string(try text(pair.value, "icmp.source_ip_address"))
            case "payload_size": result.parameters["size"] = .integer(try integer(pair.value, "icmp.payload_size"))
            case "dont_fragment":
                if try boolean(pair.value, "icmp.dont_fragment") { result.parameters["pmtuDiscovery"] = .string("do") }
            case "ttl": result.parameters["ttl"] = .integer(try integer(pair.value, "icmp.ttl"))
            default: throw unknown("icmp.\(key)", pair.key)
            }
        }
    }

    private mutating func tcp(_ node: YAMLNode) throws(SettingsError) {
        for pair in try pairs(node, "tcp.") {
            let key = pair.key.text ?? ""
            switch key {
            case "preferred_ip_protocol", "ip_protocol_fallback": try family(node, "tcp.")
            case "source_ip_address": result.parameters["source"] = .string(try text(pair.value, "tcp.source_ip_address"))
            case "tls": result.parameters["tls"] = .boolean(try boolean(pair.value, "tcp.tls"))
            case "tls_config": try tlsConfig(pair.value, "tcp.tls_config.")
            case "query_response": try queryResponse(pair.value)
            default: throw unknown("tcp.\(key)", pair.key)
            }
        }
    }

    private mutating func grpc(_ node: YAMLNode) throws(SettingsError) {
        for pair in try pairs(node, "grpc.") {
            let key = pair.key.text ?? ""
            switch key {
            case "service":
                // The empty name is the whole server: Sonde's default when no service is given.
                let service = try text(pair.value, "grpc.service")
                if !service.isEmpty { result.parameters["service"] = .string(service) }
            case "preferred_ip_protocol", "ip_protocol_fallback": try family(node, "grpc.")
            case "tls": result.parameters["tls"] = .boolean(try boolean(pair.value, "grpc.tls"))
            case "tls_config": try tlsConfig(pair.value, "grpc.tls_config.")
            case "metadata":
                var lines: [String] = []
                for entry in try pairs(pair.value, "grpc.metadata.") {
                    let name = entry.key.text ?? ""
                    for value in try list(entry.value, "grpc.metadata.\(name)") {
                        lines.append("\(name): \(try text(value, "grpc.metadata.\(name)[]"))")
                    }
                }
                if !lines.isEmpty { result.parameters["header"] = .list(lines) }
            default: throw unknown("grpc.\(key)", pair.key)
            }
        }
    }

    private mutating func queryResponse(_ node: YAMLNode) throws(SettingsError) {
        guard let items = node.items else { throw refusal("tcp.query_response", node, "expected a list of steps") }
        var steps: [String] = []
        for item in items {
            // Within one step blackbox expects (and labels its match), reads the exact bytes, sends, then starts TLS.
            var expect: String?
            var labels: [String] = []
            var expectBytes: String?
            var send: String?
            var starttls = false
            let path = "tcp.query_response[]."
            for pair in try pairs(item, path) {
                let key = pair.key.text ?? ""
                switch key {
                case "expect":
                    let pattern = try text(pair.value, path + key)
                    do {
                        _ = try SafeRegex(pattern)
                    } catch {
                        throw refusal(path + key, pair.value, "not an RE2 regular expression (\(error.reason))")
                    }
                    expect = pattern
                case "expect_bytes":
                    let bytes = try text(pair.value, path + key)
                    if !bytes.isEmpty { expectBytes = Self.escapedForSend(bytes) }
                case "send": send = Self.escapedForSend(try text(pair.value, path + key))
                case "starttls": starttls = try boolean(pair.value, path + key)
                case "labels":
                    for label in try list(pair.value, path + key) {
                        var name: String?
                        var value = ""
                        for field in try pairs(label, path + "labels[].") {
                            switch field.key.text ?? "" {
                            case "name": name = try text(field.value, path + "labels[].name")
                            case "value": value = try text(field.value, path + "labels[].value")
                            case let other: throw unknown(path + "labels[]." + other, field.key)
                            }
                        }
                        guard let name else { throw refusal(path + "labels[].name", label, "each label needs a name") }
                        labels.append("label:\(name)=\(Self.escapedForSend(value))")
                    }
                default: throw unknown(path + key, pair.key)
                }
            }
            if expect != nil, expectBytes != nil {
                throw refusal(path + "expect_bytes", item, "a step has expect or expect_bytes, not both")
            }
            if expect == nil, !labels.isEmpty {
                throw refusal(path + "labels", item, "labels name groups of the step's expect, and this step has none")
            }
            if let expect { steps += ["expect:" + expect] + labels }
            if let expectBytes { steps.append("expect-bytes:" + expectBytes) }
            if let send { steps.append("send:" + send) }
            if starttls { steps.append("starttls") }
        }
        if !steps.isEmpty { result.parameters["step"] = .list(steps) }
    }

    /// blackbox sends the text as it is; Sonde's `send:` reads escapes, so backslashes and control characters
    /// (an SMTP module's `\r`) are written as escapes.
    static func escapedForSend(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\r": escaped += "\\r"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// What an http module is before its block is read (a module may have none: `http_2xx: {prober: http}`).
    private mutating func httpDefaults() {
        result.targetForm = .urlDefaultingToHTTP
        // Go's client: redirects followed, at most 10.
        result.parameters["location"] = .boolean(true)
        result.parameters["maxRedirs"] = .integer(10)
    }

    private mutating func http(_ node: YAMLNode) throws(SettingsError) {
        var headers: [String] = []
        var failBody: [String] = []
        for pair in try pairs(node, "http.") {
            let key = pair.key.text ?? ""
            let path = "http.\(key)"
            switch key {
            case "preferred_ip_protocol", "ip_protocol_fallback": try family(node, "http.")
            case "valid_status_codes":
                let codes = try list(pair.value, path).map { item throws(SettingsError) in String(try integer(item, path)) }
                if !codes.isEmpty { result.parameters["expectStatus"] = .string(codes.joined(separator: ",")) }
            case "method": result.parameters["method"] = .string(try text(pair.value, path).uppercased())
            case "headers":
                for header in try pairs(pair.value, "http.headers.") {
                    let name = header.key.text ?? ""
                    let value = try text(header.value, "http.headers.\(name)")
                    // Go sends a Host header as the request's host: Sonde's URL carries it (see Module.hostname).
                    if name.lowercased() == "host" {
                        guard HostName.isValid(value) || IPAddress(value) != nil else {
                            throw refusal("http.headers.\(name)", header.value, "expected a host name (no port)")
                        }
                        result.hostname = value
                    } else {
                        headers.append("\(name): \(value)")
                    }
                }
            case "body": result.parameters["data"] = .string(try text(pair.value, path))
            case "compression": result.parameters["compression"] = .string(try text(pair.value, path).lowercased())
            case "body_size_limit":
                let limit = try byteSize(pair.value, path)
                if limit > 0 { result.parameters["maxBody"] = .integer(limit) }
            case "follow_redirects": result.parameters["location"] = .boolean(try boolean(pair.value, path))
            case "no_follow_redirects": result.parameters["location"] = .boolean(!(try boolean(pair.value, path)))
            case "enable_http2":
                if !(try boolean(pair.value, path)) { result.parameters["httpVersion"] = .string("1.1") }
            case "fail_if_not_ssl": result.parameters["requireTls"] = .boolean(try boolean(pair.value, path))
            case "fail_if_ssl": result.parameters["failIfTls"] = .boolean(try boolean(pair.value, path))
            case "enable_http3", "proxy_from_environment", "skip_resolve_phase_with_proxy":
                // Their default (false) is what Sonde does.
                if try boolean(pair.value, path) { throw unknown(path, pair.key) }
            case "valid_http_versions":
                let versions = try list(pair.value, path).map { item throws(SettingsError) in try text(item, path) }
                for version in versions where !["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0"].contains(version.uppercased()) {
                    throw refusal(path, pair.value, "'\(version)': Sonde speaks HTTP/1.0, HTTP/1.1 and HTTP/2.0")
                }
                if !versions.isEmpty { result.parameters["expectVersion"] = .string(versions.joined(separator: ",")) }
            case "fail_if_header_matches":
                for check in try list(pair.value, path) { try headerCheck(check, path: path, refusing: true) }
            case "fail_if_body_matches_regexp":
                failBody += try list(pair.value, path).map { item throws(SettingsError) in try text(item, path) }
            case "fail_if_body_not_matches_regexp":
                let patterns = try list(pair.value, path).map { item throws(SettingsError) in try text(item, path) }
                if !patterns.isEmpty { result.parameters["expectBody"] = .list(patterns) }
            case "fail_if_header_not_matches":
                for check in try list(pair.value, path) { try headerCheck(check, path: path, refusing: false) }
            case "tls_config": try tlsConfig(pair.value, "http.tls_config.")
            case "basic_auth": headers.append("Authorization: Basic " + (try basicAuth(pair.value)))
            case "authorization":
                var type = "Bearer"
                var credentials: String?
                for field in try pairs(pair.value, "http.authorization.") {
                    switch field.key.text ?? "" {
                    case "type": type = try text(field.value, "http.authorization.type")
                    case "credentials": credentials = try text(field.value, "http.authorization.credentials")
                    case "credentials_file": credentials = try secret(field.value, "http.authorization.credentials_file")
                    case let other: throw unknown("http.authorization.\(other)", field.key)
                    }
                }
                if let credentials { headers.append("Authorization: \(type) \(credentials)") }
            case "bearer_token": headers.append("Authorization: Bearer " + (try text(pair.value, path)))
            case "bearer_token_file": headers.append("Authorization: Bearer " + (try secret(pair.value, path)))
            case "body_file": result.parameters["data"] = .string(try file(pair.value, path))
            case "http_headers":
                // 0.26+: per header, plain values, secrets and files (each value one more header line).
                for header in try pairs(pair.value, "http.http_headers.") {
                    let name = header.key.text ?? ""
                    let base = "http.http_headers.\(name)."
                    for field in try pairs(header.value, base) {
                        let key = field.key.text ?? ""
                        let values: [String]
                        switch key {
                        case "values", "secrets":
                            values = try list(field.value, base + key).map { item throws(SettingsError) in try text(item, base + key) }
                        case "files": values = try list(field.value, base + key).map { item throws(SettingsError) in try secret(item, base + key) }
                        default: throw unknown(base + key, field.key)
                        }
                        guard name.lowercased() != "host" else {
                            throw refusal(base + key, field.value, "a Host header goes in headers (one host name)")
                        }
                        headers += values.map { "\(name): \($0)" }
                    }
                }
            default: throw unknown(path, pair.key)
            }
        }
        if !headers.isEmpty { result.parameters["header"] = .list(headers) }
        if !failBody.isEmpty { result.parameters["failBody"] = .list(failBody) }
    }

    /// One `{header, regexp, allow_missing}` of `fail_if_header_not_matches` (→ `expectHeader`, or with
    /// `allow_missing` `expectHeaderIfPresent`) or of `fail_if_header_matches` (→ `failHeader`, where a missing header
    /// matches nothing anyway), added to the module's list.
    private mutating func headerCheck(_ node: YAMLNode, path list: String, refusing: Bool) throws(SettingsError) {
        var allowMissing = false
        let path = list + "[]."
        var header: String?
        var pattern: String?
        for pair in try pairs(node, path) {
            switch pair.key.text ?? "" {
            case "header": header = try text(pair.value, path + "header")
            case "regexp": pattern = try text(pair.value, path + "regexp")
            case "allow_missing": allowMissing = try boolean(pair.value, path + "allow_missing")
            case let other: throw unknown(path + other, pair.key)
            }
        }
        guard let header, let pattern else { throw refusal(path + "header", node, "each check needs a header and a regexp") }
        let parameter = refusing ? "failHeader" : allowMissing ? "expectHeaderIfPresent" : "expectHeader"
        var lines: [String] = []
        if case .list(let given)? = result.parameters[parameter] { lines = given }
        result.parameters[parameter] = .list(lines + ["\(header): \(pattern)"])
    }

    private func basicAuth(_ node: YAMLNode) throws(SettingsError) -> String {
        var username = ""
        var password = ""
        for pair in try pairs(node, "http.basic_auth.") {
            switch pair.key.text ?? "" {
            case "username": username = try text(pair.value, "http.basic_auth.username")
            case "password": password = try text(pair.value, "http.basic_auth.password")
            case "password_file": password = try secret(pair.value, "http.basic_auth.password_file")
            case let other: throw unknown("http.basic_auth.\(other)", pair.key)
            }
        }
        return Data("\(username):\(password)".utf8).base64EncodedString()
    }

    private mutating func dns(_ node: YAMLNode) throws(SettingsError) {
        // blackbox's target is the server; the name is the module's. One exchange, the name as written.
        result.targetParameter = "server"
        result.parameters["attempts"] = .integer(1)
        result.parameters["search"] = .boolean(false)
        result.parameters["type"] = .string("ANY")
        // blackbox judges the response code alone: NOERROR without an answer succeeds.
        result.parameters["requireAnswer"] = .boolean(false)
        var validations: [String] = []
        defer { if !validations.isEmpty { result.parameters["validate"] = .list(validations) } }
        for pair in try pairs(node, "dns.") {
            let key = pair.key.text ?? ""
            let path = "dns.\(key)"
            switch key {
            case "query_name": result.probeTarget = try text(pair.value, path)
            case "query_type": result.parameters["type"] = .string(try text(pair.value, path).uppercased())
            case "query_class":
                guard try text(pair.value, path).uppercased() == "IN" else { throw refusal(path, pair.value, "Sonde asks class IN only") }
            case "transport_protocol":
                switch try text(pair.value, path) {
                case "udp": result.parameters["tcp"] = .boolean(false)
                case "tcp": result.parameters["tcp"] = .boolean(true)
                default: throw refusal(path, pair.value, "expected udp or tcp")
                }
            case "dns_over_tls":
                if try boolean(pair.value, path) {
                    // As blackbox: DoT is over TCP, and a module that says udp is a configuration error.
                    if node["transport_protocol"]?.text != "tcp" {
                        throw refusal(path, pair.value, "DNS over TLS needs transport_protocol: tcp")
                    }
                    result.parameters["tls"] = .boolean(true)
                }
            case "tls_config": try tlsConfig(pair.value, "dns.tls_config.")
            case "recursion_desired":
                guard try boolean(pair.value, path) else { throw refusal(path, pair.value, "Sonde always asks for recursion") }
            case "valid_rcodes":
                let codes = try list(pair.value, path).map { item throws(SettingsError) in try text(item, path) }
                if !codes.isEmpty { result.parameters["expectRcode"] = .string(codes.joined(separator: ",")) }
            case "source_ip_address": result.parameters["source"] = .string(try text(pair.value, path))
            case "validate_answer_rrs", "validate_authority_rrs", "validate_additional_rrs":
                let section = key.split(separator: "_")[1]
                let checks = [
                    "fail_if_matches_regexp": "fail-if-matches", "fail_if_all_match_regexp": "fail-if-all-match",
                    "fail_if_not_matches_regexp": "fail-if-not-matches", "fail_if_none_matches_regexp": "fail-if-none-matches",
                ]
                for check in try pairs(pair.value, path + ".") {
                    let name = check.key.text ?? ""
                    guard let written = checks[name] else { throw unknown("\(path).\(name)", check.key) }
                    for pattern in try list(check.value, "\(path).\(name)") {
                        let regex = try text(pattern, "\(path).\(name)[]")
                        do {
                            _ = try SafeRegex(regex)
                        } catch {
                            throw refusal("\(path).\(name)[]", pattern, "not an RE2 regular expression (\(error.reason))")
                        }
                        // A YAML "\t" is a tab in the pattern; Sonde's pattern lines carry it as RE2's escape.
                        let escaped = regex.map { $0 == "\t" ? "\\t" : $0 == "\r" ? "\\r" : String($0) }.joined()
                        validations.append("\(section) \(written) \(escaped)")
                    }
                }
            case "preferred_ip_protocol", "ip_protocol_fallback":
                // Applies to resolving the server's name; Sonde's DNS probe takes the server as an address.
                _ = try text(pair.value, path)
            default: throw unknown(path, pair.key)
            }
        }
        guard result.probeTarget != nil else { throw refusal("dns.query_name", node, "a dns module needs query_name (the target is the server)") }
    }

    // MARK: Shared blocks

    /// `preferred_ip_protocol` (default ip6) with `ip_protocol_fallback` (default true), read once per block.
    private mutating func family(_ block: YAMLNode, _ prefix: String) throws(SettingsError) {
        var preferred = "ip6"
        if let node = block["preferred_ip_protocol"] { preferred = try text(node, prefix + "preferred_ip_protocol") }
        let fallback =
            try block["ip_protocol_fallback"].map { node throws(SettingsError) in try boolean(node, prefix + "ip_protocol_fallback") } ?? true
        let family: String
        switch preferred {
        case "ip4", "ipv4", "tcp4", "udp4": family = fallback ? "prefer-ipv4" : "ipv4"
        case "ip6", "ipv6", "tcp6", "udp6": family = fallback ? "prefer-ipv6" : "ipv6"
        default: throw refusal(prefix + "preferred_ip_protocol", block["preferred_ip_protocol"], "expected ip4 or ip6")
        }
        result.parameters["family"] = .string(family)
    }

    private mutating func tlsConfig(_ node: YAMLNode, _ prefix: String) throws(SettingsError) {
        let fields = [
            "insecure_skip_verify": "insecure", "server_name": "servername", "ca_file": "cacert", "cert_file": "cert", "key_file": "key",
            "ca": "cacertPem", "cert": "certPem", "key": "keyPem",
        ]
        let versions = ["TLS10": "1.0", "TLS11": "1.1", "TLS12": "1.2", "TLS13": "1.3"]
        for pair in try pairs(node, prefix) {
            let key = pair.key.text ?? ""
            if key == "min_version" || key == "max_version" {
                let written = try text(pair.value, prefix + key)
                guard let version = versions[written] else {
                    throw refusal(prefix + key, pair.value, "expected TLS10, TLS11, TLS12 or TLS13")
                }
                result.parameters[key == "min_version" ? "tlsMin" : "tlsMax"] = .string(version)
                continue
            }
            guard let parameter = fields[key] else { throw unknown(prefix + key, pair.key) }
            if parameter == "insecure" {
                result.parameters[parameter] = .boolean(try boolean(pair.value, prefix + key))
            } else {
                result.parameters[parameter] = .string(try text(pair.value, prefix + key))
            }
        }
    }

    // MARK: Reading values

    /// A file the module names, read now (at load and each reload); a relative path is the working directory's, as in blackbox.
    private func file(_ node: YAMLNode, _ path: String) throws(SettingsError) -> String {
        let name = try text(node, path)
        guard let files else { throw refusal(path, node, "files are read only for the modules file sonde serve loads") }
        do {
            return try files.text(of: name)
        } catch {
            throw refusal(path, node, "cannot read \(name): \(error)")
        }
    }

    /// A credential from a file, without the whitespace around it (as Prometheus reads secret files).
    private func secret(_ node: YAMLNode, _ path: String) throws(SettingsError) -> String {
        let value = try file(node, path).trimmed
        guard !value.isEmpty, !value.contains(where: { $0.isNewline }) else { throw refusal(path, node, "expected one line of credential") }
        return value
    }

    private func pairs(_ node: YAMLNode, _ prefix: String) throws(SettingsError) -> [YAMLNode.Pair] {
        if node.isNull { return [] }
        guard let pairs = node.pairs else { throw refusal(String(prefix.dropLast()), node, "expected a mapping") }
        return pairs
    }

    private func list(_ node: YAMLNode, _ path: String) throws(SettingsError) -> [YAMLNode] {
        if node.isNull { return [] }
        guard let items = node.items else { throw refusal(path, node, "expected a list") }
        return items
    }

    private func text(_ node: YAMLNode?, _ path: String) throws(SettingsError) -> String {
        guard let node, !node.isNull, let text = node.text else { throw refusal(path, node, "expected a value") }
        return text
    }

    private func boolean(_ node: YAMLNode, _ path: String) throws(SettingsError) -> Bool {
        guard let value = node.boolean else { throw refusal(path, node, "expected true or false") }
        return value
    }

    private func integer(_ node: YAMLNode, _ path: String) throws(SettingsError) -> Int {
        guard let value = node.integer else { throw refusal(path, node, "expected a whole number") }
        return value
    }

    /// Go's units for a byte size: `1024`, `10KB`, `5MiB` (B, KB, MB, GB and KiB, MiB, GiB).
    private func byteSize(_ node: YAMLNode, _ path: String) throws(SettingsError) -> Int {
        if let value = node.integer { return value }
        let text = node.text ?? ""
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("B", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Int(text.dropLast(suffix.count)), number >= 0, number <= Int.max / scale { return number * scale }
        }
        throw refusal(path, node, "expected a size such as 1048576, 512KB or 10MiB")
    }

    private func unknown(_ path: String, _ node: YAMLNode) -> SettingsError {
        let key = String(path.split(separator: ".").last ?? "")
        if let reason = Self.notSupported[key] { return refusal(path, node, reason) }
        return SettingsError("module \(name): line \(node.line): unknown key \(path) (blackbox_exporter's modules have no such option)")
    }

    private func refusal(_ path: String, _ node: YAMLNode?, _ reason: String) -> SettingsError {
        let line = node.map { "line \($0.line): " } ?? ""
        return SettingsError("module \(name): \(line)\(path): \(reason)")
    }
}
