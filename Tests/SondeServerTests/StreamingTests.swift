import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SondeServer
import SondeServerTestSupport
import Testing

/// Events reach the caller as they happen, in every streaming format.
@Suite("HTTP API: streaming")
struct StreamingTests {
    @Test("NDJSON: each attempt arrives when it happens, then the report")
    func ndjsonArrivesAsItHappens() async throws {
        let listener = try LoopbackListener()
        try await TestServer.application(TestServer.make()).test(.live) { client in
            let response = try await RawHTTP.get(
                port: client.port, "/v1/probes/tcp?target=127.0.0.1:\(listener.port)&count=4&interval=0.4",
                headers: ["Authorization": "Bearer \(TestServer.token)", "Accept": "application/x-ndjson"]
            )
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/x-ndjson")
            let types = response.lines.map { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.text.utf8))) as? [String: Any])?["type"] as? String ?? "?"
            }
            #expect(types == ["start", "attempt", "attempt", "attempt", "attempt", "report"])
            // Attempts start 0.4 s apart; had the server buffered, every line would arrive at the end together.
            let attempts = response.lines.enumerated().filter { types[$0.offset] == "attempt" }.map(\.element.at)
            #expect(attempts.count == 4)
            if attempts.count == 4 {
                // Generous: a buffered response delivers them all at once (spread ~0); parallel suites can delay reads.
                #expect(attempts[3] - attempts[0] > 0.2, "lines arrived at \(attempts)")
            }
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
        try await TestServer.application(TestServer.make()).test(.router) { client in
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
        try await TestServer.application(TestServer.make()).test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/probes/tcp?target=169.254.169.254:80", method: .get, headers: TestServer.authorized + [.accept: "application/x-ndjson"]
            )
            #expect(response.status == .forbidden)
            #expect(response.errorCode == "target_denied")
        }
    }
}
