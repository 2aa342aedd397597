import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How the gateway proves to a sidecar that a request comes from it, without handing the shared secret to
/// whatever answers at the pod's address.
///
/// The gateway signs each request: `Authorization: Sonde-HMAC-SHA256 t=UNIX-SECONDS, n=NONCE, s=SIGNATURE`,
/// where SIGNATURE is HMAC-SHA256, keyed with the sidecar token, of
///
/// ```
/// sonde-request-v1 \n POD-IP \n METHOD \n REQUEST-TARGET \n t \n n \n hex(SHA-256(body))
/// ```
///
/// The sidecar recomputes it with the address the connection actually arrived at, accepts it within
/// ``maxSkew`` of its own clock, and refuses a nonce it has already seen. A stranger at the pod's address
/// learns one signature for one request to itself, usable nowhere else and never twice.
public enum RequestSignature {
    /// The `Authorization` scheme.
    public static let scheme = "Sonde-HMAC-SHA256"
    /// How far the gateway's and the sidecar's clocks may disagree.
    public static let maxSkew: Int64 = 30

    /// The wall clock in whole seconds since 1970 (what both sides sign and check).
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }

    /// A fresh nonce: 16 random bytes in hex.
    public static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
    }

    /// What is signed, byte for byte.
    static func message(podAddress: String, method: String, target: String, time: Int64, nonce: String, body: [UInt8]) -> [UInt8] {
        Array("sonde-request-v1\n\(podAddress)\n\(method.uppercased())\n\(target)\n\(time)\n\(nonce)\n\(SHA256.hash(body).hexString)".utf8)
    }

    /// The `Authorization` header value for one request.
    public static func authorization(
        key: String, podAddress: String, method: String, target: String, body: [UInt8], time: Int64, nonce: String
    ) -> String {
        let signature = HMACSHA256.authenticationCode(
            for: message(podAddress: podAddress, method: method, target: target, time: time, nonce: nonce, body: body), key: Array(key.utf8)
        )
        return "\(scheme) t=\(time), n=\(nonce), s=\(signature.hexString)"
    }

    /// The parts of a signed `Authorization` header, or `nil` when it is not one.
    public struct Parts: Sendable, Equatable {
        public var time: Int64
        public var nonce: String
        public var signature: String

        public init?(header: String) {
            guard header.hasPrefix(RequestSignature.scheme + " ") else { return nil }
            var fields: [Substring: Substring] = [:]
            for item in header.dropFirst(RequestSignature.scheme.count + 1).split(separator: ",") {
                let pair = item.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { return nil }
                fields[pair[0].drop { $0 == " " }] = pair[1]
            }
            guard let t = fields["t"].flatMap({ Int64($0) }), let n = fields["n"], let s = fields["s"],
                (16...64).contains(n.count), n.allSatisfy({ $0.isHexDigit }), s.count == 64, s.allSatisfy({ $0.isHexDigit })
            else { return nil }
            time = t
            nonce = String(n)
            signature = String(s).lowercased()
        }
    }

    /// Why a signed request is refused, or `nil` when it is genuine.
    public static func refusal(
        _ parts: Parts, key: String, podAddress: String, method: String, target: String, body: [UInt8], now: Int64, seen: NonceCache
    ) -> String? {
        guard abs(now - parts.time) <= maxSkew else {
            return "the signature's time is \(parts.time - now) s from this sidecar's clock (at most ±\(maxSkew) s)"
        }
        let expected = HMACSHA256.authenticationCode(
            for: message(podAddress: podAddress, method: method, target: target, time: parts.time, nonce: parts.nonce, body: body),
            key: Array(key.utf8)
        ).hexString
        var difference: UInt8 = 0
        for (a, b) in zip(expected.utf8, parts.signature.utf8) { difference |= a ^ b }
        guard difference == 0 else { return "the signature does not match this request to \(podAddress)" }
        guard seen.insert(parts.nonce, now: now) else { return "the signature was already used (replayed)" }
        return nil
    }
}

/// The nonces of accepted signatures still within their time window: a replay is refused.
public final class NonceCache: Sendable {
    private struct State {
        var seen: [String: Int64] = [:]
        var lastSweep: Int64 = 0
    }

    private let state = Mutex(State())
    /// The most nonces remembered; past that, signed requests are refused until old ones expire.
    public let capacity: Int

    public init(capacity: Int = 200_000) { self.capacity = capacity }

    /// Records `nonce`; `false` when it was seen within the window or the cache is full.
    func insert(_ nonce: String, now: Int64) -> Bool {
        state.withLock { state in
            if now - state.lastSweep >= 1 || state.seen.count >= capacity {
                state.seen = state.seen.filter { now - $0.value <= 2 * RequestSignature.maxSkew }
                state.lastSweep = now
            }
            guard state.seen[nonce] == nil, state.seen.count < capacity else { return false }
            state.seen[nonce] = now
            return true
        }
    }
}
