public import SondeCore

/// What `sonde serve` and `sonde gateway` share about where and how they listen.
public enum Listener {
    /// Whether `host` (a listening address) is loopback: 127.0.0.0/8, ::1 or `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        guard let address = IPAddress(host) else { return host == "localhost" }
        return IPNetwork("127.0.0.0/8")!.contains(address.unmapped) || address == IPAddress("::1")
    }

    /// Refuses to listen on `host` beyond loopback without a token, unless `insecure` (`sonde serve` and
    /// `sonde gateway` alike).
    public static func checkExposure(host: String, token: String?, insecure: Bool) throws(SettingsError) {
        if token == nil, !isLoopback(host), !insecure {
            throw SettingsError(
                "refusing to listen on \(host) without a token: set --token-file or SONDE_TOKEN, "
                    + "listen on loopback (--host 127.0.0.1), or pass --insecure to serve unauthenticated"
            )
        }
    }
}

/// The request log's format.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Settings that cannot be served, with what to change.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
