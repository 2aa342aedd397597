import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SondeCore
import SondeServer
import SondeServerTestSupport
import Testing

/// Events reach the caller as they happen, in every streaming format.
@Suite("HTTP API: streaming")
struct StreamingTests {
    @Test("NDJSON: each attempt arrives when it happens, then the report")
    func ndjsonArrivesAsItHappens() async throws {
        // Each attempt reads a greeting that the listener sends only once this client has received the attempt
        // before it: had the server buffered its events, the second attempt would wait for a greeting in vain.
        let greeter = try GatedGreeter(connections: 3)
        let server = try TestServer.make { $0.policy.allowLocalContent = true }
        try await TestServer.application(server).test(.live) { client in
            let response = try await RawHTTP.get(
                port: client.port, "/v1/probes/tcp?target=127.0.0.1:\(greeter.port)&count=3&interval=0.05&banner=true&readTimeout=10",
                headers: ["Authorization": "Bearer \(TestServer.token)", "Accept": "application/x-ndjson"]
            ) { line in
                if line.contains(#""type":"attempt""#) { greeter.openNext() }
            }
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/x-ndjson")
            let events = response.lines.map { line in
                (try? JSONSerialization.jsonObject(with: Data(line.text.utf8))) as? [String: Any] ?? [:]
            }
            #expect(events.map { $0["type"] as? String ?? "?" } == ["start", "attempt", "attempt", "attempt", "report"])
            let banners = events.filter { $0["type"] as? String == "attempt" }.map { $0["banner"] as? String }
            #expect(banners == ["hello 1", "hello 2", "hello 3"], "\(response.body)")
        }
    }

    @Test(
        "server-sent events and text use the same stream",
        arguments: [
            ("text/event-stream", "event: attempt\ndata: {"),
            ("text/plain", "Connected to 127.0.0.1:"),
        ])
    func otherFormats(_ accept: String, _ expected: String) async throws {
        let listener = try LoopbackListener()
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/probes/tcp?target=127.0.0.1:\(listener.port)&count=2&interval=0.05", method: .get,
                headers: TestServer.authorized + [.accept: accept]
            )
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix(accept) == true)
            #expect(String(buffer: response.body).contains(expected), "\(String(buffer: response.body))")
        }
    }

    @Test("a refused target is still an HTTP error when streaming was asked for")
    func refusalBeforeTheStream() async throws {
        try await TestServer.application(try TestServer.make()).test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/probes/tcp?target=169.254.169.254:80", method: .get, headers: TestServer.authorized + [.accept: "application/x-ndjson"]
            )
            #expect(response.status == .forbidden)
            #expect(response.errorCode == "target_denied")
        }
    }
}
