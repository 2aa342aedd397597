/// The two messages of `grpc.health.v1.Health/Check` on the wire: protobuf inside gRPC's length-prefixed framing.
/// Written by hand (two fields in all) so the probe needs no code generator and no protobuf runtime.
enum GRPCHealthMessage {
    /// The largest response message read: a health answer is 2 bytes; anything far larger is not one.
    static let maxResponseBytes = 64 << 10

    /// `HealthCheckRequest { string service = 1; }`, framed: flag 0 (not compressed), 4-byte big-endian length.
    static func request(service: String) -> [UInt8] {
        var message: [UInt8] = []
        if !service.isEmpty {
            let bytes = Array(service.utf8)
            message = [0x0A] + varint(UInt64(bytes.count)) + bytes
        }
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + message
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            let low = UInt8(value & 0x7F)
            value >>= 7
            bytes.append(value == 0 ? low : low | 0x80)
        } while value != 0
        return bytes
    }

    /// Why a response body is not one `HealthCheckResponse`.
    struct Malformed: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    /// The `status` of the one `HealthCheckResponse { ServingStatus status = 1; }` in a response body (the
    /// framed message); unknown fields are skipped as protobuf says, an absent status is 0 (`UNKNOWN`).
    static func servingStatus(inBody body: [UInt8]) throws(Malformed) -> Int {
        guard body.count >= 5 else { throw Malformed(description: "the response has no complete gRPC message (\(body.count) bytes)") }
        guard body[0] == 0 else { throw Malformed(description: "the response message is compressed, which the probe did not offer") }
        let length = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
        guard body.count == 5 + length else {
            throw Malformed(
                description: "the response holds \(body.count - 5) bytes after its prefix, which announces \(length) (one message expected)")
        }
        var reader = Reader(bytes: body[5...])
        var status = 0
        while !reader.isAtEnd {
            let key = try reader.varint()
            let field = key >> 3
            switch key & 7 {
            case 0:
                let value = try reader.varint()
                if field == 1 { status = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: value)) }
            case 1: try reader.skip(8)
            case 2: try reader.skip(Int(clamping: try reader.varint()))
            case 5: try reader.skip(4)
            default: throw Malformed(description: "the response is not a HealthCheckResponse (wire type \(key & 7))")
            }
        }
        return status
    }

    private struct Reader {
        var bytes: ArraySlice<UInt8>
        var isAtEnd: Bool { bytes.isEmpty }

        mutating func varint() throws(Malformed) -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard let byte = bytes.popFirst() else { throw Malformed(description: "the response message ends inside a number") }
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            throw Malformed(description: "the response message has a number longer than 10 bytes")
        }

        mutating func skip(_ count: Int) throws(Malformed) {
            guard count >= 0, count <= bytes.count else { throw Malformed(description: "the response message ends inside a field") }
            bytes = bytes.dropFirst(count)
        }
    }
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus`, as blackbox_exporter labels it.
enum ServingStatus {
    static let names = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]

    static func name(_ value: Int) -> String { names.indices.contains(value) ? names[value] : "UNKNOWN" }
}

/// gRPC status codes (grpc/doc/statuscodes.md) and the mapping of an HTTP status to one when a server answers
/// without gRPC (grpc/doc/http-grpc-status-mapping.md).
enum GRPCStatus {
    static let ok = 0
    static let unknown = 2
    static let deadlineExceeded = 4
    static let notFound = 5
    static let `internal` = 13
    static let unavailable = 14

    static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    ]

    static func name(_ code: Int) -> String { names.indices.contains(code) ? names[code] : "CODE_\(code)" }

    static func fromHTTP(_ status: Int) -> Int {
        switch status {
        case 400: 13
        case 401: 16
        case 403: 7
        case 404: 12
        case 429, 502, 503, 504: 14
        default: 2
        }
    }
}
