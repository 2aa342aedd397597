import HTTPTypes
import Hummingbird
import SondeAuth

/// Authentication on everything but the health endpoints: the bearer token, compared in constant time, or a
/// request signed with it (``RequestSignature``: what the gateway sends, so it never hands the token to whoever
/// answers at a pod's address).
///
/// Without a configured token it instead refuses requests whose `Host` is a name other than `localhost`:
/// an unauthenticated Sonde listens on loopback, and a browser tricked by DNS rebinding into calling it
/// sends the attacker's host name.
package struct AuthenticationMiddleware: RouterMiddleware {
    package typealias Context = SondeRequestContext
    package let token: [UInt8]?
    package let tokenText: String?
    package let openPaths: @Sendable (String) -> Bool
    /// Signed requests carry their body in the signature: read up to this much of it.
    package let maxBody: Int
    package let nonces = NonceCache()

    package init(token: String?, maxBody: Int, openPaths: @escaping @Sendable (String) -> Bool) {
        self.token = token.map { Array($0.utf8) }
        self.tokenText = token
        self.maxBody = maxBody
        self.openPaths = openPaths
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths(request.uri.path) { return try await next(request, context) }
        guard let token else {
            guard Self.isLocalOrLiteral(authority: request.head.authority) else {
                throw APIError(
                    .forbidden, code: "host_not_allowed",
                    "Host '\(request.head.authority ?? "")' is refused: without a token this Sonde answers only to localhost or an IP address"
                )
            }
            if let reason = Self.crossSiteReason(request.headers, authority: request.head.authority) {
                throw APIError(
                    .forbidden, code: "cross_site_refused",
                    "\(reason): without a token this Sonde answers only requests that no other web page made "
                        + "(call it from curl or a program, or give it a token)"
                )
            }
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError(
                .unauthorized, code: "unauthorized", "missing bearer token: send Authorization: Bearer <token>",
                headers: [.wwwAuthenticate: #"Bearer realm="sonde""#]
            )
        }
        if let parts = RequestSignature.Parts(header: header), let tokenText {
            var request = request
            let body = try await HTTPService.collectBody(of: &request, upTo: maxBody)
            if let reason = RequestSignature.refusal(
                parts, key: tokenText, podAddress: context.arrivalAddress ?? "", method: request.method.rawValue,
                target: request.head.path ?? "", body: Array(buffer: body), now: RequestSignature.now(), seen: nonces
            ) {
                throw APIError(
                    .unauthorized, code: "unauthorized", "invalid request signature: \(reason)",
                    headers: [.wwwAuthenticate: #"Bearer realm="sonde", error="invalid_token""#]
                )
            }
            return try await next(request, context)
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix,
            Self.constantTimeEqual(Array(header.utf8.dropFirst(prefix.count)), token)
        else {
            throw APIError(
                .unauthorized, code: "unauthorized", "invalid bearer token",
                headers: [.wwwAuthenticate: #"Bearer realm="sonde", error="invalid_token""#]
            )
        }
        return try await next(request, context)
    }

    /// Why a request looks as if a web page other than Sonde's own origin made it, or `nil`.
    ///
    /// A token-less Sonde trusts whoever can reach loopback; a browser on the same machine can, on behalf of
    /// any page it shows. Browsers mark such requests: `Sec-Fetch-Site` (`cross-site`, `same-site`), and an
    /// `Origin` that is not this server's own. Programs (curl, Prometheus, the gateway) send neither.
    package static func crossSiteReason(_ headers: HTTPFields, authority: String?) -> String? {
        if let site = headers[HTTPField.Name("Sec-Fetch-Site")!]?.lowercased(), site == "cross-site" || site == "same-site" {
            return "a request with Sec-Fetch-Site: \(site) is refused"
        }
        if let origin = headers[.origin] {
            let own = ["http://", "https://"].map { $0 + (authority ?? "").lowercased() }
            if !own.contains(origin.lowercased()) { return "a request from Origin \(origin) is refused" }
        }
        return nil
    }

    /// Compares every byte whatever the first difference, so timing says nothing about the token.
    package static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }

    /// `localhost`, an IPv4 literal or a bracketed IPv6 literal, with or without a port.
    package static func isLocalOrLiteral(authority: String?) -> Bool {
        guard let authority, !authority.isEmpty else { return true }
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
            return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        return host.lowercased() == "localhost" || host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
