public import SondeCore

extension BlackboxModules.Module {
    /// blackbox's `hostname`: the name an http request carries (Host and SNI) while it still connects to the URL's
    /// target, and the name a tcp module's TLS sends and checks. From the scrape's `hostname=` or the module's own
    /// `Host` header; other probes take none. Returns the probe's target and the parameters to add.
    ///
    /// For http the URL's host becomes `hostname` and `connectTo` sends that host back to the target's (so the
    /// target policy judges the address the probe really connects to).
    public func addressing(_ target: String, hostname: String?) -> (target: String, parameters: [String: ParameterValue]) {
        let probeTarget = probeTarget(for: target)
        guard let hostname = hostname ?? self.hostname else { return (probeTarget, [:]) }
        switch probe.rawValue {
        case "http":
            guard let url = URLParts(probeTarget) else { return (probeTarget, [:]) }
            let named = url.replacingHost(with: hostname)
            return (named.text, ["connectTo": .string("\(named.bracketedHost):\(url.port):\(url.bracketedHost):\(url.port)")])
        case "tcp":
            return (probeTarget, parameters["servername"] == nil ? ["servername": .string(hostname)] : [:])
        default:
            return (probeTarget, [:])
        }
    }
}

/// `scheme://host[:port]/rest` taken apart just enough to swap the host (IPv6 in brackets; a URL with user
/// information or without a scheme is left alone, and the probe judges it).
struct URLParts {
    var scheme: String
    var host: String
    var explicitPort: String?
    var rest: String

    init?(_ text: String) {
        guard let separator = text.firstRange(of: "://") else { return nil }
        scheme = text[..<separator.lowerBound].lowercased()
        guard ["http", "https"].contains(scheme) else { return nil }
        let afterScheme = text[separator.upperBound...]
        let authorityEnd = afterScheme.firstIndex { "/?#".contains($0) } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        rest = String(afterScheme[authorityEnd...])
        guard !authority.contains("@"), !authority.isEmpty else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let tail = authority[authority.index(after: close)...]
            guard tail.isEmpty || tail.hasPrefix(":") else { return nil }
            explicitPort = tail.isEmpty ? nil : String(tail.dropFirst())
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
            explicitPort = String(authority[authority.index(after: colon)...])
        } else {
            host = String(authority)
        }
    }

    var port: String { explicitPort ?? (scheme == "https" ? "443" : "80") }
    var bracketedHost: String { host.contains(":") ? "[\(host)]" : host }
    var text: String { "\(scheme)://\(bracketedHost)\(explicitPort.map { ":" + $0 } ?? "")\(rest)" }

    func replacingHost(with name: String) -> URLParts {
        var copy = self
        copy.host = name
        return copy
    }
}
