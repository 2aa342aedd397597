import SondeAuth
import SondeTestSupport
import Testing

@Suite("request signatures: SHA-256, HMAC and the gateway's signed requests")
struct RequestSignatureTests {
    @Test("SHA-256 matches FIPS 180-4's vectors and gives one digest however the input is fed")
    func sha256() throws {
        #expect(SHA256.hash([]).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexString
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        #expect(
            SHA256.hash(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)).hexString
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Fed in any split, every length around the padding boundaries hashes the same.
        var generator = SeededRandom(test: "sha256")
        for length in 0..<130 {
            let input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var hasher = SHA256()
            let split = length == 0 ? 0 : Int.random(in: 0...length, using: &generator)
            hasher.update(input[..<split])
            hasher.update(input[split...])
            #expect(hasher.finalize() == SHA256.hash(input), "length \(length) split at \(split), \(generator.replay)")
        }
    }

    @Test("HMAC-SHA256 matches RFC 4231's test cases")
    func hmac() {
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                [UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
        ]
        for (key, message, mac) in cases {
            #expect(HMACSHA256.authenticationCode(for: message, key: key).hexString == mac)
        }
    }

    @Test("a genuine signature passes once; another pod, another request, a stale time or a replay is refused with the reason")
    func verification() throws {
        let key = "shared-sidecar-token-0123456789"
        let now = RequestSignature.now()
        let nonce = RequestSignature.nonce()
        let header = RequestSignature.authorization(
            key: key, podAddress: "10.244.1.7", method: "POST", target: "/v1/probes/ping", body: Array(#"{"target":"10.0.0.1"}"#.utf8),
            time: now, nonce: nonce
        )
        #expect(!header.contains(key))
        let parts = try #require(RequestSignature.Parts(header: header))
        #expect(parts.nonce == nonce && parts.time == now)
        let body = Array(#"{"target":"10.0.0.1"}"#.utf8)
        func check(
            _ parts: RequestSignature.Parts, pod: String = "10.244.1.7", method: String = "POST", target: String = "/v1/probes/ping",
            body: [UInt8] = body, key: String = key, now: Int64 = now, cache: NonceCache
        ) -> String? {
            RequestSignature.refusal(parts, key: key, podAddress: pod, method: method, target: target, body: body, now: now, seen: cache)
        }
        #expect(check(parts, pod: "10.244.1.8", cache: NonceCache())?.contains("does not match this request to 10.244.1.8") == true)
        #expect(check(parts, method: "GET", cache: NonceCache()) != nil)
        #expect(check(parts, target: "/v1/probes/tcp", cache: NonceCache()) != nil)
        #expect(check(parts, body: Array(#"{"target":"10.0.0.2"}"#.utf8), cache: NonceCache()) != nil)
        #expect(check(parts, key: "another-token", cache: NonceCache()) != nil)
        #expect(check(parts, now: now + 31, cache: NonceCache())?.contains("from this sidecar's clock") == true)
        let cache = NonceCache()
        #expect(check(parts, cache: cache) == nil)
        #expect(check(parts, cache: cache) == "the signature was already used (replayed)")
        // Anything that is not exactly the scheme's shape is not a signature.
        for bad in [
            "Bearer x", "Sonde-HMAC-SHA256 t=1", "Sonde-HMAC-SHA256 t=x, n=\(nonce), s=\(String(repeating: "0", count: 64))",
            "Sonde-HMAC-SHA256 t=1, n=zz, s=\(String(repeating: "0", count: 64))",
        ] {
            #expect(RequestSignature.Parts(header: bad) == nil, "\(bad)")
        }
    }

}
