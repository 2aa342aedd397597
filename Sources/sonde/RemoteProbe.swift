import Dispatch
import SondeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A probe run on an agent (`sonde --agent http://10.1.2.3:8090 ping 10.0.0.1`): the same declaration, events,
/// report and text as the local probe it wraps, so the command line and its output are exactly a local run's.
/// The request goes to the agent's `POST /v1/probes/{kind}` and its NDJSON stream is decoded as it arrives.
struct RemoteProbe<Local: Probe>: Probe {
    let local: Local
    let agent: AgentAddress
    let token: String?

    var descriptor: ProbeDescriptor { local.descriptor }

    func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<Local.Event, Local.Summary> {
        local.textRenderer(options: options)
    }

    func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (Local.Event) -> Void
    ) async throws(ProbeError) -> ProbeReport<Local.Summary> {
        var body: [(String, JSONValue)] = [("target", .string(request.target))]
        for (name, value) in request.parameters.storage.sorted(by: { $0.key < $1.key }) { body.append((name, JSONValue(value))) }
        var headers = ["Content-Type: application/json", "Accept: application/x-ndjson"]
        if let token { headers.append("Authorization: Bearer \(token)") }
        let stream = HTTPLineStream.open(
            agent: agent, method: "POST", path: "/v1/probes/\(descriptor.kind)", headers: headers,
            body: JSONValue.object(body).serialized()
        )
        let decoder = SondeJSON.decoder()
        var status = 0
        var errorBody = ""
        for await item in stream {
            switch item {
            case .status(let code):
                status = code
            case .failed(let reason):
                throw ProbeError(.probeFailed, "agent \(agent): \(reason)")
            case .line(let line) where status != 200:
                errorBody += line
            case .line(let line):
                let data = Data(line.utf8)
                let type = (try? decoder.decode(TypeOnly.self, from: data))?.type
                if type == "report" {
                    do {
                        return try decoder.decode(ProbeReport<Local.Summary>.self, from: data)
                    } catch {
                        throw ProbeError(.probeFailed, "agent \(agent) sent a report this sonde cannot read: \(error)")
                    }
                }
                if type == "error", let failure = try? decoder.decode(RemoteError.self, from: data), failure.event == nil {
                    throw ProbeError(ProbeError.Code(rawValue: failure.code), "agent \(agent): \(failure.message)")
                }
                if let event = try? decoder.decode(Local.Event.self, from: data) { events(event) }
            }
        }
        if status != 200 {
            let failure = (try? decoder.decode(RemoteErrorBody.self, from: Data(errorBody.utf8)))?.error
            let message = failure?.message ?? "answered HTTP \(status)"
            throw ProbeError(ProbeError.Code(rawValue: failure?.code ?? "agent_error"), "agent \(agent): \(message)")
        }
        throw ProbeError(.probeFailed, "agent \(agent) ended the stream before the report")
    }

    private struct TypeOnly: Decodable { var type: String }

    /// A failure inside the stream (`{"type":"error","code","message"}`); a DNS event of type `error` has no `code`.
    private struct RemoteError: Decodable {
        var code: String
        var message: String
        var event: String? { nil }
    }

    private struct RemoteErrorBody: Decodable {
        struct Detail: Decodable { var code: String; var message: String }
        var error: Detail
    }
}

/// `http://HOST:PORT` of an agent (plain HTTP: the sidecar's API).
struct AgentAddress: Sendable, CustomStringConvertible {
    var host: String
    var port: UInt16

    init(_ text: String) throws(ProbeError) {
        let invalid = ProbeError(.invalidParameter, "invalid --agent '\(text)': expected http://HOST:PORT, e.g. http://10.1.2.3:8090")
        guard text.hasPrefix("http://") else {
            if text.hasPrefix("https://") { throw ProbeError(.invalidParameter, "--agent '\(text)': Sonde agents speak plain HTTP on the pod network; use http://") }
            throw invalid
        }
        var rest = text.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw invalid }
        let parsed: HostPort
        do {
            parsed = try HostPort(rest.contains(":") ? String(rest) : String(rest) + ":8090")
        } catch {
            throw invalid
        }
        host = parsed.host
        port = parsed.port
    }

    var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// One HTTP/1.1 exchange over a plain socket, its body delivered line by line as it arrives (chunked or not).
/// Blocking I/O on a Dispatch thread; the stream ends when the connection closes.
enum HTTPLineStream {
    enum Item: Sendable {
        case status(Int)
        case line(String)
        case failed(String)
    }

    static func open(agent: AgentAddress, method: String, path: String, headers: [String], body: String) -> AsyncStream<Item> {
        let (stream, feed) = AsyncStream<Item>.makeStream()
        let cancelled = CancelFlag()
        feed.onTermination = { _ in cancelled.cancel() }
        DispatchQueue.global().async {
            exchange(agent: agent, method: method, path: path, headers: headers, body: body, feed: feed, cancelled: cancelled)
            feed.finish()
        }
        return stream
    }

    private static func exchange(
        agent: AgentAddress, method: String, path: String, headers: [String], body: String,
        feed: AsyncStream<Item>.Continuation, cancelled: CancelFlag
    ) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(agent.host, String(agent.port), &hints, &list) == 0, let first = list else {
            feed.yield(.failed("cannot resolve \(agent.host)"))
            return
        }
        defer { freeaddrinfo(list) }
        let descriptor = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            feed.yield(.failed(ErrorNumber.message(errno)))
            return
        }
        cancelled.descriptor = descriptor
        defer { cancelled.close() }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            feed.yield(.failed("cannot connect: \(ErrorNumber.message(errno)) (is sonde serve running there?)")); return
        }
        let bytes = Array(body.utf8)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(agent.host)\r\nConnection: close\r\nContent-Length: \(bytes.count)\r\n"
        for header in headers { request += header + "\r\n" }
        let message = Array((request + "\r\n").utf8) + bytes
        var offset = 0
        while offset < message.count {
            let written = message[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else {
            feed.yield(.failed("sending the request: \(ErrorNumber.message(errno))"))
            return
        }
            offset += written
        }
        var reader = Reader(descriptor: descriptor)
        guard let statusLine = reader.line(), let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            feed.yield(.failed("no HTTP answer")); return
        }
        feed.yield(.status(status))
        var chunked = false
        while let header = reader.line(), !header.isEmpty {
            if header.lowercased().hasPrefix("transfer-encoding:"), header.lowercased().contains("chunked") { chunked = true }
        }
        var pending: [UInt8] = []
        func emit(_ data: [UInt8]) {
            pending += data
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                feed.yield(.line(String(decoding: pending[..<newline], as: UTF8.self)))
                pending.removeSubrange(...newline)
            }
        }
        if chunked {
            while let sizeLine = reader.line(), let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16), size > 0 {
                guard let data = reader.bytes(size) else { break }
                emit(data)
                _ = reader.line()
            }
        } else {
            while let data = reader.some() { emit(data) }
        }
        if !pending.isEmpty { feed.yield(.line(String(decoding: pending, as: UTF8.self))) }
    }

    /// Buffered reads from the socket.
    private struct Reader {
        let descriptor: Int32
        var buffer: [UInt8] = []

        mutating func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 16_384)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            buffer += chunk[0..<count]
            return true
        }

        mutating func line() -> String? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(buffer[..<newline])
                    buffer.removeSubrange(...newline)
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                guard fill() else { return nil }
            }
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            while buffer.count < count { guard fill() else { return nil } }
            defer { buffer.removeFirst(count) }
            return Array(buffer[..<count])
        }

        mutating func some() -> [UInt8]? {
            if buffer.isEmpty, !fill() { return nil }
            defer { buffer.removeAll() }
            return buffer
        }
    }

    /// Closing the socket unblocks the reading thread when the caller stops listening (Ctrl-C).
    private final class CancelFlag: Sendable {
        /// The socket (or -1) and whether the caller already stopped listening.
        private let state = Mutex<(descriptor: Int32, cancelled: Bool)>((-1, false))

        var descriptor: Int32 {
            get { state.withLock { $0.descriptor } }
            set {
                state.withLock { state in
                    state.descriptor = newValue
                    if state.cancelled { shutdown(newValue, Int32(SHUT_RDWR)) }
                }
            }
        }

        func cancel() {
            state.withLock { state in
                state.cancelled = true
                if state.descriptor >= 0 { shutdown(state.descriptor, Int32(SHUT_RDWR)) }
            }
        }

        func close() {
            state.withLock { state in
                if state.descriptor >= 0 { Glibc.close(state.descriptor) }
                state.descriptor = -1
            }
        }
    }
}
