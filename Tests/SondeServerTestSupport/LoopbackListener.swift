import Dispatch
import Foundation

/// A TCP listener on loopback that accepts and holds connections, the target of TCP probes.
public final class LoopbackListener: @unchecked Sendable {
    public let port: Int
    fileprivate let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard descriptor >= 0, bound == 0, listen(descriptor, 128) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw POSIXError(.EADDRINUSE)
        }
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// A loopback listener that greets its n-th connection with `hello n` only once the test has opened that
/// connection's gate (the first is open from the start). A test that opens the next gate when it has
/// *received* an attempt proves the server streamed it: a server that buffered its events would wait in vain.
public final class GatedGreeter: @unchecked Sendable {
    public var port: Int { listener.port }
    private let listener: LoopbackListener
    private let gates: [DispatchSemaphore]
    private let lock = NSLock()
    private var opened = 1
    private let done = DispatchSemaphore(value: 0)

    /// Serves `connections` connections, each waiting at most `patience` seconds for its gate.
    public init(connections: Int, patience: Double = 20) throws {
        listener = try LoopbackListener()
        gates = (0..<connections).map { DispatchSemaphore(value: $0 == 0 ? 1 : 0) }
        let listener = listener
        let gates = gates
        let done = done
        Thread.detachNewThread {
            let descriptor = listener.descriptor
            var clients: [Int32] = []
            defer {
                for client in clients { close(client) }
                done.signal()
            }
            let deadline = DispatchTime.now() + patience
            for (index, gate) in gates.enumerated() {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&waiting, 1, Int32(patience * 1000)) == 1 else { return }
                let client = accept(descriptor, nil, nil)
                guard client >= 0 else { return }
                clients.append(client)
                guard gate.wait(timeout: deadline) == .success else { return }
                let greeting = Array("hello \(index + 1)\n".utf8)
                _ = greeting.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            // Hold the connections until the last attempt has read its greeting.
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// Opens the next connection's gate.
    public func openNext() {
        lock.lock()
        defer { lock.unlock() }
        guard opened < gates.count else { return }
        gates[opened].signal()
        opened += 1
    }

    deinit {
        for gate in gates { gate.signal() }
        _ = done.wait(timeout: .now() + 5)
    }
}
