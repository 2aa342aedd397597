import SondeCore
import Testing

@testable import GRPCProbe

/// The health messages on the wire, the target forms and the metadata rules; the calls themselves run against
/// grpcio's server in `GRPCIntegrationTests`.
@Suite("gRPC health: messages, targets, metadata")
struct GRPCProbeTests {
    @Test("the request is a framed HealthCheckRequest: empty for the whole server, field 1 for a service")
    func request() {
        #expect(GRPCHealthMessage.request(service: "") == [0, 0, 0, 0, 0])
        #expect(GRPCHealthMessage.request(service: "shop") == [0, 0, 0, 0, 6, 0x0A, 4] + Array("shop".utf8))
        let long = String(repeating: "s", count: 200)
        // 200 needs a two-byte varint: 0xC8 0x01.
        #expect(GRPCHealthMessage.request(service: long).prefix(8) == [0, 0, 0, 0, 203, 0x0A, 0xC8, 0x01])
    }

    @Test("a response's status is read past unknown fields; malformed bodies named")
    func response() throws {
        #expect(try GRPCHealthMessage.servingStatus(inBody: [0, 0, 0, 0, 2, 0x08, 1]) == 1)
        #expect(try GRPCHealthMessage.servingStatus(inBody: [0, 0, 0, 0, 0]) == 0, "proto3: an absent status is UNKNOWN")
        // An unknown length-delimited field 2, then the status.
        #expect(try GRPCHealthMessage.servingStatus(inBody: [0, 0, 0, 0, 5, 0x12, 1, 0x41, 0x08, 2]) == 2)
        for (body, reason) in [
            ([UInt8]([0, 0, 0]), "no complete gRPC message"), ([1, 0, 0, 0, 2, 0x08, 1], "compressed"),
            ([0, 0, 0, 0, 9, 0x08, 1], "announces 9"), ([0, 0, 0, 0, 1, 0x08], "ends inside a number"),
            ([0, 0, 0, 0, 3, 0x12, 9, 0], "ends inside a field"), ([0, 0, 0, 0, 2, 0x0B, 0], "wire type 3"),
        ] {
            let error = #expect(throws: GRPCHealthMessage.Malformed.self) { try GRPCHealthMessage.servingStatus(inBody: body) }
            #expect(error?.description.contains(reason) == true, "\(body): \(error?.description ?? "")")
        }
    }

    func plan(_ target: String, _ parameters: [String: ParameterValue] = [:]) throws(ProbeError) -> GRPCPlan {
        try GRPCPlan(ProbeRequest(target: target, parameters: GRPCProbe().descriptor.validate(parameters)))
    }

    @Test("targets: HOST:PORT, [IPv6]:PORT, HOST with the scheme's or --tls's port; a path or bare IPv6 refused")
    func targets() throws {
        let plain = try plan("10.0.0.7:50051")
        #expect((plain.host, plain.port, plain.authority, plain.useTLS) == ("10.0.0.7", 50051, "10.0.0.7:50051", false))
        let v6 = try plan("[fd00::7]:50051")
        #expect((v6.host, v6.authority) == ("fd00::7", "[fd00::7]:50051"))
        #expect(try plan("shop.test").port == 80)
        #expect(try plan("shop.test", ["tls": .boolean(true)]).port == 443)
        let https = try plan("https://shop.test/")
        #expect((https.port, https.useTLS, https.authority) == (443, true, "shop.test:443"))
        #expect(try plan("[fd00::7]").authority == "[fd00::7]:80")
        for (target, message) in [
            ("10.0.0.7:50051/grpc.health.v1.Health/Check", "the health check's path is fixed"), ("fd00::7", "in brackets"),
            ("10.0.0.7:0", "invalid port"), ("", "expected HOST:PORT"),
        ] {
            let error = #expect(throws: ProbeError.self) { try plan(target) }
            #expect(error?.message.contains(message) == true, "\(target): \(error?.message ?? "")")
        }
    }

    @Test("metadata is sent as given, lower-cased; what gRPC itself sets is refused")
    func metadata() throws {
        let plan = try plan("10.0.0.7:1", ["header": .list(["X-Tenant: blue", "Authorization:  Bearer t "])])
        #expect(plan.metadata.map(\.name) == ["x-tenant", "authorization"])
        #expect(plan.metadata.map(\.value) == ["blue", "Bearer t"])
        for header in ["te: gzip", "Content-Type: text/plain", "grpc-timeout: 1S"] {
            let error = #expect(throws: ProbeError.self) { try self.plan("10.0.0.7:1", ["header": .string(header)]) }
            #expect(error?.message.contains("which the probe sets itself") == true, "\(header): \(error?.message ?? "")")
        }
    }

    @Test("metrics: blackbox's grpc series, the serving status one-hot")
    func metrics() {
        var summary = GRPCSummary()
        summary.checks = 1
        summary.serving = 1
        summary.lastCode = 0
        summary.lastCheckMs = 12
        summary.lastServingStatus = "SERVING"
        summary.resolveMs = 1
        let samples = summary.metricSamples
        let response = samples.filter { $0.name == "probe_grpc_healthcheck_response" }
        #expect(Set(response.compactMap { $0.labels["serving_status"] }) == ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"])
        #expect(response.filter { $0.value == 1 }.map { $0.labels["serving_status"] } == ["SERVING"])
        #expect(samples.first { $0.name == "probe_grpc_duration_seconds" && $0.labels["phase"] == "check" }?.value == 0.012)
        #expect(samples.first { $0.name == "probe_grpc_status_code" }?.value == 0)
        #expect(samples.first { $0.name == "probe_ssl_earliest_cert_expiry" }?.value == 0, "as 0.23 writes it without TLS")
    }
}
