import SondeCore

/// An `http://` or `https://` URL as the HTTP probe reads it: scheme, host (a name, an IPv4 address or an IPv6
/// address in brackets), port and the request target (path and query). A fragment is dropped, as browsers do.
struct HTTPTarget: Sendable, Equatable, CustomStringConvertible {
    enum Scheme: String, Sendable {
        case http, https

        var defaultPort: UInt16 { self == .http ? 80 : 443 }
    }

    var scheme: Scheme
    /// The host without brackets: `example.test`, `10.0.0.7`, `fd00::7`.
    var host: String
    var port: UInt16
    /// What the request line carries: `/`, `/healthz?full=1`.
    var path: String

    /// The longest URL taken (as curl's and most servers' limits, well above any health check's).
    static let maxLength = 2048

    init(scheme: Scheme, host: String, port: UInt16, path: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `text`; without a scheme it is an `http://` URL, as curl and blackbox_exporter read it.
    init(_ given: String) throws(ProbeError) {
        func refuse(_ why: String) -> ProbeError {
            ProbeError(.invalidTarget, "invalid URL '\(given.prefix(200))': \(why)")
        }
        let text = given.contains("://") || given.isEmpty ? given : "http://" + given
        guard text.utf8.count <= Self.maxLength else { throw refuse("longer than \(Self.maxLength) bytes") }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw refuse("expected http://HOST[:PORT][/PATH] or https://…")
        }
        guard let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
            throw refuse("the scheme '\(text[..<colon])' is not http or https")
        }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0.value > 0x7e }) else {
            throw refuse("spaces, control and non-ASCII characters must be percent-encoded")
        }
        var rest = text[text.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else {
            throw refuse("credentials in the URL are not sent: give an Authorization header with -H instead")
        }
        let hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("an IPv6 address needs its closing ']'") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard !hostPart.contains("%") else { throw refuse("a zone (%…) in the address is not supported here: give a global or ULA address") }
            guard IPAddress(String(hostPart))?.family == .ipv6 else { throw refuse("'\(hostPart)' in brackets is not an IPv6 address") }
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("expected ':PORT' after ']'") }
                portPart = after.dropFirst()
            }
        } else {
            if authority.filter({ $0 == ":" }).count > 1 { throw refuse("write an IPv6 address in brackets, e.g. http://[fd00::1]:8080/") }
            if let colon = authority.firstIndex(of: ":") {
                hostPart = authority[..<colon]
                portPart = authority[authority.index(after: colon)...]
            } else {
                hostPart = authority
            }
        }
        guard !hostPart.isEmpty else { throw refuse("no host") }
        if !authority.hasPrefix("["), IPAddress(String(hostPart)) == nil, !HostName.isValid(hostPart) {
            throw refuse("'\(hostPart.prefix(100))' is not a host name (letters, digits, '-', '_' and '.', at most 253) nor an address")
        }
        var port = scheme.defaultPort
        if let portPart {
            guard let number = Int(portPart), (1...65_535).contains(number) else {
                throw refuse("the port '\(portPart)' is not a number from 1 to 65535")
            }
            port = UInt16(number)
        }
        self.init(scheme: scheme, host: hostPart.lowercased(), port: port, path: path)
    }

    /// The `Host` header: the host, bracketed when IPv6, with the port unless it is the scheme's.
    var hostHeader: String {
        let host = IPAddress(self.host)?.family == .ipv6 ? "[\(self.host)]" : self.host
        return port == scheme.defaultPort ? host : "\(host):\(port)"
    }

    var description: String { "\(scheme.rawValue)://\(hostHeader)\(path)" }

    /// Where a `Location` header points from this URL: absolute (`http://…`), scheme-relative (`//host/…`),
    /// absolute-path (`/…`) or relative (`next`, `../up`), as RFC 3986 §5.2 resolves them.
    func resolving(_ location: String) throws(ProbeError) -> HTTPTarget {
        if location.contains("://") { return try HTTPTarget(location) }
        if location.hasPrefix("//") { return try HTTPTarget("\(scheme.rawValue):\(location)") }
        var redirected = self
        if location.hasPrefix("/") {
            redirected.path = location
        } else if location.hasPrefix("?") {
            redirected.path = String(path.prefix { $0 != "?" }) + location
        } else {
            let directory = path.prefix { $0 != "?" }.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            redirected.path = directory.joined(separator: "/") + "/" + location
        }
        redirected.path = Self.removingDotSegments(redirected.path)
        if let hash = redirected.path.firstIndex(of: "#") { redirected.path = String(redirected.path[..<hash]) }
        guard !redirected.path.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0.value > 0x7e }) else {
            throw ProbeError(.probeFailed, "the server redirected to '\(location.prefix(200))', which is not a valid URL")
        }
        return redirected
    }

    /// `/a/./b/../c` → `/a/c` (RFC 3986 §5.2.4), on the path before any query.
    static func removingDotSegments(_ path: String) -> String {
        let query = path.firstIndex(of: "?").map { String(path[$0...]) } ?? ""
        let segments = path.prefix { $0 != "?" }.split(separator: "/", omittingEmptySubsequences: false)
        var output: [Substring] = []
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".": if last { output.append("") }
            case "..":
                if output.count > 1 { output.removeLast() }
                if last { output.append("") }
            default: output.append(segment)
            }
        }
        let joined = output.joined(separator: "/")
        return (joined.hasPrefix("/") ? joined : "/" + joined) + query
    }
}
