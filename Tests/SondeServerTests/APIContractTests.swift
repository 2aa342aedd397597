import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SondeCore
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// Every route and status code of the API, in process (router) and over a real socket (live).
@Suite("HTTP API: routes, validation and errors")
struct APIContractTests {
    @Test("GET /v1/probes lists every probe with the server's limits as bounds", arguments: [TestingSetup.router, .live])
    func listing(_ setup: TestingSetup) async throws {
        let server = try TestServer.make { $0.limits.maxCount = 42 }
        try await TestServer.application(server).test(setup) { client in
            let response = try await client.execute(uri: "/v1/probes", method: .get, headers: TestServer.authorized)
            #expect(response.status == .ok)
            let probes = response.object["probes"] as? [[String: Any]] ?? []
            #expect(probes.compactMap { $0["kind"] as? String } == ["dns", "ping", "tcp"])
            let ping = probes.first { $0["kind"] as? String == "ping" }
            let count = (ping?["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "count" }
            #expect(count?["maximum"] as? Double == 42)
            #expect(count?["default"] as? Int == 5)
        }
    }

    @Test("the OpenAPI document has every probe, its parameters and the server's bounds")
    func openAPI() async throws {
        let server = try TestServer.make { $0.limits.maxCount = 42 }
        try await TestServer.application(server).test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get, headers: TestServer.authorized)
            #expect(response.status == .ok)
            let document = response.object
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = document["paths"] as? [String: Any] ?? [:]
            for path in ["/v1/probes", "/v1/probes/ping", "/v1/probes/tcp", "/v1/probes/dns", "/ping/{dstIP}/{count}", "/healthz", "/readyz"] {
                #expect(paths[path] != nil, "\(path) missing")
            }
            let post = (paths["/v1/probes/tcp"] as? [String: Any])?["post"] as? [String: Any]
            let schema =
                (((post?["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
                as? [String: Any]
            let properties = schema?["properties"] as? [String: Any] ?? [:]
            #expect(Set(properties.keys).isSuperset(of: ["target", "count", "timeout", "banner", "send", "expect"]))
            #expect((properties["count"] as? [String: Any])?["maximum"] as? Int == 42)
            #expect(schema?["additionalProperties"] as? Bool == false)
            let references = OpenAPIChecks.unresolvedReferences(in: document)
            #expect(references.isEmpty, "every $ref names a schema of components.schemas: \(references)")
        }
    }

    @Test("a probe that ran is 200 with its verdict; an unreachable port is success false, not an error")
    func verdicts() async throws {
        let listener = try LoopbackListener()
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let open = try await client.execute(
                uri: "/v1/probes/tcp", method: .post, headers: TestServer.authorized + [.contentType: "application/json"],
                body: TestServer.json(["target": "127.0.0.1:\(listener.port)", "count": 2, "interval": 0.05])
            )
            #expect(open.status == .ok)
            #expect(open.object["success"] as? Bool == true)
            #expect((open.object["summary"] as? [String: Any])?["connected"] as? Int == 2)

            // Port 1 on loopback: nothing listens, the kernel answers RST.
            let refused = try await client.execute(uri: "/v1/probes/tcp?target=127.0.0.1:1&count=1", method: .get, headers: TestServer.authorized)
            #expect(refused.status == .ok)
            #expect(refused.object["success"] as? Bool == false)
        }
    }

    @Test("bad requests name the field and what is allowed")
    func validation() async throws {
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let headers = TestServer.authorized
            let json = headers + [.contentType: "application/json"]
            let cases: [(String, HTTPRequest.Method, HTTPFields, ByteBuffer?, HTTPResponse.Status, String, String)] = [
                (
                    "/v1/probes/tcp?target=127.0.0.1:1&count=0", .get, headers, nil, .badRequest, "invalid_parameter",
                    "invalid value '0' for count: expected an integer from 1 to 100"
                ),
                ("/v1/probes/tcp?target=127.0.0.1:1&colour=red", .get, headers, nil, .badRequest, "unknown_parameter", "unknown parameter 'colour'"),
                ("/v1/probes/tcp?count=1", .get, headers, nil, .badRequest, "missing_target", "target is required"),
                ("/v1/probes/tcp?target=a%20b", .get, headers, nil, .badRequest, "invalid_target", "without spaces"),
                ("/v1/probes/tcp?target=127.0.0.1", .get, headers, nil, .badRequest, "invalid_target", "expected HOST:PORT"),
                ("/v1/probes/tcp?target=127.0.0.1:1&count=1&count=2", .get, headers, nil, .badRequest, "invalid_parameter", "count is given twice"),
                (
                    "/v1/probes/tcp?target=127.0.0.1:1&send=" + String(repeating: "x", count: 2049), .get, headers, nil, .badRequest,
                    "invalid_parameter", "send is longer than 2048 bytes, too long for a query string: send it in a POST body"
                ),
                (
                    "/v1/probes/tcp?target=127.0.0.1:1&count=100&interval=1", .get, headers, nil, .badRequest, "invalid_parameter",
                    "longer than this server allows per request (60 s)"
                ),
                ("/v1/probes/tcp", .post, json, ByteBuffer(string: "[1,2]"), .badRequest, "invalid_body", "JSON object"),
                ("/v1/probes/tcp", .post, json, ByteBuffer(string: "{\"target\": 5}"), .badRequest, "invalid_target", "target must be a string"),
                (
                    "/v1/probes/tcp", .post, json, ByteBuffer(string: "{\"target\": \"127.0.0.1:1\", \"count\": {\"a\": 1}}"), .badRequest,
                    "invalid_parameter", "count must be a number, string or boolean, not an object"
                ),
                (
                    "/v1/probes/tcp", .post, headers + [.contentType: "text/plain"], ByteBuffer(string: "{}"), .unsupportedMediaType,
                    "unsupported_media_type", "Content-Type must be application/json"
                ),
                (
                    "/v1/probes/tcp", .post, json, ByteBuffer(repeating: UInt8(ascii: " "), count: 20_000), .contentTooLarge, "body_too_large",
                    "16384 bytes"
                ),
                ("/v1/probes/nosuch?target=x", .get, headers, nil, .notFound, "unknown_probe", "expected one of dns, ping, tcp"),
                ("/v2/anything", .get, headers, nil, .notFound, "not_found", "no route GET /v2/anything"),
                ("/v1/probes", .delete, headers, nil, .methodNotAllowed, "method_not_allowed", "use GET"),
                (
                    "/v1/probes/tcp?target=127.0.0.1:1", .get, headers + [.accept: "image/png"], nil, .notAcceptable, "not_acceptable",
                    "application/x-ndjson"
                ),
                (
                    "/ping/127.0.0.1/11", .get, headers, nil, .badRequest, "invalid_parameter",
                    "invalid value '11' for count: expected an integer from 1 to 10"
                ),
            ]
            for (uri, method, headers, body, status, code, message) in cases {
                let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
                #expect(response.status == status, "\(method) \(uri)")
                #expect(response.errorCode == code, "\(method) \(uri): \(String(buffer: response.body))")
                #expect(response.errorMessage.contains(message), "\(method) \(uri): \(response.errorMessage)")
                #expect(response.headers[.contentType] == "application/json")
            }
            let notAllowed = try await client.execute(uri: "/v1/probes/tcp", method: .put, headers: headers)
            #expect(notAllowed.headers[.allow] == "GET, POST")
        }
    }

    @Test(
        "the compatibility route answers ping's own text", .enabled(if: TestServer.canPing, "no ICMP socket: run as root or allow ping_group_range"))
    func legacyPing() async throws {
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let response = try await client.execute(uri: "/ping/127.0.0.1/2", method: .get, headers: TestServer.authorized)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n"))
            #expect(text.contains("64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time="))
            #expect(text.contains("--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss"))
        }
    }
}
