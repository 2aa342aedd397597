import Dispatch
public import Foundation

/// A minimal HTTP/1.1 client over a plain socket, for what the framework client hides: the `Host` header
/// sent, and *when* each line of a streamed body arrives.
public enum RawHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        /// Each body line with the seconds since the request was sent when it arrived.
        public var lines: [(text: String, at: Double)]
    }

    /// Sends a GET and reads the whole answer; `onLine` sees each body line as soon as it has arrived.
    public static func get(
        port: Int?, _ path: String, host: String = "127.0.0.1", headers: [String: String] = [:],
        onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let text = request
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try exchange(text, port: port ?? 0, onLine: onLine) })
            }
        }
    }

    private static func exchange(_ request: String, port: Int, onLine: (String) -> Void) throws -> Response {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let start = DispatchTime.now()
        _ = request.utf8CString.withUnsafeBufferPointer { send(descriptor, $0.baseAddress, $0.count - 1, 0) }

        var raw: [UInt8] = []
        var head: (status: Int, headers: [String: String], bodyStart: Int)?
        var decoded: [UInt8] = []
        var lines: [(String, Double)] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            raw += buffer[0..<count]
            let now = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            if head == nil, let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) {
                let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                head = (status, headers, end.upperBound)
            }
            guard let head else { continue }
            let body = Array(raw[head.bodyStart...])
            let newBody = head.headers["transfer-encoding"] == "chunked" ? dechunk(body) : body
            let before = decoded.count
            decoded = newBody
            // Every line completed by this read arrived now.
            var lineStart = decoded[..<before].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            for index in before..<decoded.count where decoded[index] == UInt8(ascii: "\n") {
                let line = String(decoding: decoded[lineStart..<index], as: UTF8.self)
                lines.append((line, now))
                onLine(line)
                lineStart = index + 1
            }
        }
        guard let head else { throw POSIXError(.EPROTO) }
        return Response(status: head.status, headers: head.headers, body: String(decoding: decoded, as: UTF8.self), lines: lines)
    }

    /// The data of every complete chunk so far.
    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)) {
            guard let size = Int(String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0 else { break }
            let dataEnd = lineEnd.upperBound + size
            guard dataEnd + 2 <= bytes.count else { break }
            output += bytes[lineEnd.upperBound..<dataEnd]
            index = dataEnd + 2
        }
        return output
    }
}
