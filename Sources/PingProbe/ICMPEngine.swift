import CSondeNet
import SondeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The shared ICMP machinery of the process: one socket per address family (plus one per non-default
/// path-MTU setting, opened on first use), one receiver thread, and a table of requests in flight.
///
/// Every concurrent ping — many targets, many API requests — goes through the same sockets. Requests get
/// socket-wide 16-bit sequence numbers; replies are matched by socket, identifier, sequence, the data tag
/// (token and 32-bit send counter) and source. Per-request TTL, TOS, source and interface travel as
/// control messages, so they need no socket of their own.
public final class ICMPEngine: Sendable {
    private let core: EngineCore

    /// Opens the default sockets now, raw if permitted, else ping sockets (see ``ICMPSocketMode``).
    ///
    /// A family that cannot be opened is remembered with its error, which is thrown to the first probe that
    /// needs that family; the other family keeps working.
    ///
    /// - Parameter mode: force one socket mode for both families instead of trying raw first.
    public static func open(mode: ICMPSocketMode? = nil) -> ICMPEngine {
        ICMPEngine(mode: mode, firstCounter: UInt32.random(in: 0...UInt32(UInt16.max)))
    }

    init(mode: ICMPSocketMode?, firstCounter: UInt32) {
        func open(_ family: AddressFamily) -> Result<ICMPSocket, ProbeError> {
            do {
                return .success(try ICMPSocket.open(family, mode: mode))
            } catch {
                return .failure(error)
            }
        }
        core = EngineCore(defaults: DefaultSockets(ipv4: open(.ipv4), ipv6: open(.ipv6)), firstCounter: firstCounter)
    }

    deinit { core.stop() }

    /// The socket mode in use for `family`, or the error that made it unavailable.
    public func mode(for family: AddressFamily) -> Result<ICMPSocketMode, ProbeError> {
        core.defaults[family].map(\.mode)
    }

    /// How many ICMP sockets are open (the defaults plus one per path-MTU setting in use).
    var openSocketCount: Int { core.socketCount }

    /// The send counter of the default socket of `family` (tests watch it wrap).
    func nextCounter(for family: AddressFamily) -> UInt32? { core.counter(of: SocketKey(family: family, pmtu: nil)) }

    /// Starts a session of echo requests to one destination. Observations are delivered on the receiver
    /// thread, in arrival order.
    func openSession(
        to destination: IPAddress,
        options: EchoOptions,
        observer: @escaping @Sendable (EchoObservation) -> Void
    ) throws(ProbeError) -> EchoSession {
        try core.openSession(to: destination, options: options, observer: observer)
    }
}

/// Per-session settings of the echo requests.
struct EchoOptions: Sendable {
    var dataLength = 56
    var ttl: Int?
    var trafficClass: Int?
    var pmtu: PMTUDiscovery?
    var interfaceIndex: UInt32 = 0
    var source: IPAddress?
    /// How long after sending a request a reply is still attributed to it (and reported late).
    var lateWindow: Duration = .seconds(12)
}

/// A run of echo requests to one destination, sharing the engine's sockets.
final class EchoSession: Sendable {
    let id: Int
    let key: SocketKey
    let destination: IPAddress
    let options: EchoOptions
    private let core: EngineCore
    private let sendOptions: sonde_send_options

    fileprivate init(id: Int, key: SocketKey, destination: IPAddress, options: EchoOptions, core: EngineCore) {
        self.id = id
        self.key = key
        self.destination = destination
        self.options = options
        self.core = core
        var send = sonde_send_options()
        send.ttl = Int32(options.ttl ?? -1)
        send.tclass = Int32(options.trafficClass ?? -1)
        send.ifindex = Int32(options.interfaceIndex)
        if let source = options.source {
            send.has_source = 1
            send.source = source.socketAddress().storage
        }
        sendOptions = send
    }

    /// The socket mode this session sends through.
    var mode: ICMPSocketMode { core.mode(of: key) }

    /// Sends echo request number `sequence` of this session now.
    func send(sequence: Int) -> SendOutcome {
        core.send(session: self, sequence: sequence, options: sendOptions)
    }

    /// Stops delivering observations. Requests still in flight are forgotten as their slots are reused.
    func close() { core.closeSession(id) }
}

/// Which socket a session uses: the family's default, or one with a path-MTU setting.
struct SocketKey: Hashable, Sendable {
    var family: AddressFamily
    var pmtu: PMTUDiscovery?
}

/// The sockets opened up front, one per family, or why a family has none.
private struct DefaultSockets: Sendable {
    var ipv4: Result<ICMPSocket, ProbeError>
    var ipv6: Result<ICMPSocket, ProbeError>

    subscript(family: AddressFamily) -> Result<ICMPSocket, ProbeError> {
        family == .ipv4 ? ipv4 : ipv6
    }

    var opened: [ICMPSocket] {
        [ipv4, ipv6].compactMap { try? $0.get() }
    }
}

/// A request in flight.
private struct PendingEcho {
    var session: Int
    var sequence: Int
    var counter: UInt32
    var destination: IPAddress
    var dataLength: Int
    var sentRealtime: Int64
    var sentMonotonic: Int64
    var expires: Int64
    var replied = false
}

private struct SocketSlot {
    let key: SocketKey
    let socket: ICMPSocket
    var counter: UInt32
    var pending: [UInt16: PendingEcho] = [:]
}

private struct EngineState {
    /// A handful at most (one per family and path-MTU setting), so a list beats a hash table.
    var slots: [SocketSlot] = []
    var observers: [Int: @Sendable (EchoObservation) -> Void] = [:]
    var nextSession = 1

    func index(of key: SocketKey) -> Int? { slots.firstIndex { $0.key == key } }
}

private final class EngineCore: Sendable {
    let defaults: DefaultSockets
    private let state: Mutex<EngineState>
    private let poller: Int32
    private let wakeup: Int32
    private let firstCounter: UInt32

    init(defaults: DefaultSockets, firstCounter: UInt32) {
        self.defaults = defaults
        self.firstCounter = firstCounter
        poller = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        var initial = EngineState()
        for socket in defaults.opened {
            initial.slots.append(SocketSlot(key: SocketKey(family: socket.family, pmtu: nil), socket: socket, counter: firstCounter))
        }
        state = Mutex(initial)
        watch(wakeup)
        for socket in defaults.opened { watch(socket.descriptor) }
        let receiver = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            let core = Unmanaged<EngineCore>.fromOpaque(context).takeRetainedValue()
            core.receiveLoop()
            return nil
        }, receiver)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<EngineCore>.fromOpaque(receiver).release()
        }
    }

    deinit {
        close(poller)
        close(wakeup)
    }

    private func watch(_ descriptor: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLERR.rawValue
        event.data.fd = descriptor
        epoll_ctl(poller, EPOLL_CTL_ADD, descriptor, &event)
    }

    func stop() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    var socketCount: Int { state.withLock { $0.slots.count } }

    func counter(of key: SocketKey) -> UInt32? {
        state.withLock { state in state.index(of: key).map { state.slots[$0].counter } }
    }

    func mode(of key: SocketKey) -> ICMPSocketMode {
        state.withLock { state in state.index(of: key).map { state.slots[$0].socket.mode } } ?? .raw
    }

    // MARK: - Sessions

    func openSession(
        to destination: IPAddress,
        options: EchoOptions,
        observer: @escaping @Sendable (EchoObservation) -> Void
    ) throws(ProbeError) -> EchoSession {
        let family = destination.family
        let defaultSocket: ICMPSocket
        switch defaults[family] {
        case .success(let socket): defaultSocket = socket
        case .failure(let error): throw error
        }
        let key = SocketKey(family: family, pmtu: options.pmtu)
        if state.withLock({ $0.index(of: key) == nil }) {
            let socket = try ICMPSocket.open(family, mode: defaultSocket.mode, pmtu: options.pmtu)
            let added = state.withLock { state -> Bool in
                guard state.index(of: key) == nil else { return false }
                state.slots.append(SocketSlot(key: key, socket: socket, counter: firstCounter))
                return true
            }
            if added { watch(socket.descriptor) }
        }
        let id = state.withLock { state -> Int in
            let id = state.nextSession
            state.nextSession += 1
            state.observers[id] = observer
            return id
        }
        return EchoSession(id: id, key: key, destination: destination, options: options, core: self)
    }

    func closeSession(_ id: Int) {
        _ = state.withLock { $0.observers.removeValue(forKey: id) }
    }

    // MARK: - Sending

    func send(session: EchoSession, sequence: Int, options: sonde_send_options) -> SendOutcome {
        var options = options
        let now = sonde_clock_ns(CLOCK_MONOTONIC)
        var (address, length) = session.destination.socketAddress()
        // The lock is held across sendmsg so a reply (which on loopback can arrive before sendmsg returns)
        // always finds its request stamped.
        return state.withLock { state -> SendOutcome in
            guard let index = state.index(of: session.key) else { return .failed(errno: EBADF) }
            var slot = state.slots[index]
            defer { state.slots[index] = slot }
            var wire: UInt16 = 0
            var found = false
            for _ in 0...Int(UInt16.max) {
                wire = UInt16(truncatingIfNeeded: slot.counter)
                if let existing = slot.pending[wire], existing.expires > now, state.observers[existing.session] != nil {
                    slot.counter &+= 1
                    continue
                }
                found = true
                break
            }
            guard found else { return .failed(errno: ENOBUFS) }
            let counter = slot.counter
            slot.counter &+= 1
            let request = EchoRequest(
                family: session.destination.family,
                identifier: slot.socket.identifier,
                sequence: wire,
                token: slot.socket.token,
                counter: counter,
                dataLength: session.options.dataLength
            )
            let packet = request.encoded()
            var sentRealtime = timespec()
            var sentMonotonic = timespec()
            let sent = packet.withUnsafeBytes { bytes in
                sonde_send(
                    slot.socket.descriptor, bytes.baseAddress, bytes.count, &address, length, &options,
                    &sentRealtime, &sentMonotonic
                )
            }
            guard sent >= 0 else { return .failed(errno: errno) }
            // Still under the lock: the session hears of the send before any reply can be matched.
            state.observers[session.id]?(.sent(sequence: sequence, at: .now))
            let monotonic = Int64(sentMonotonic.tv_sec) * 1_000_000_000 + Int64(sentMonotonic.tv_nsec)
            slot.pending[wire] = PendingEcho(
                session: session.id,
                sequence: sequence,
                counter: counter,
                destination: session.destination,
                dataLength: session.options.dataLength,
                sentRealtime: Int64(sentRealtime.tv_sec) * 1_000_000_000 + Int64(sentRealtime.tv_nsec),
                sentMonotonic: monotonic,
                expires: monotonic + session.options.lateWindow.inNanoseconds
            )
            return .sent
        }
    }

    // MARK: - Receiving

    private func receiveLoop() {
        var events = [epoll_event](repeating: epoll_event(), count: 16)
        var buffer = [UInt8](repeating: 0, count: 65_536 + 512)
        while true {
            let count = epoll_wait(poller, &events, Int32(events.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            for index in 0..<Int(count) {
                let descriptor = events[index].data.fd
                if descriptor == wakeup { return }
                if events[index].events & EPOLLERR.rawValue != 0 {
                    drain(descriptor, errorQueue: true, buffer: &buffer)
                }
                if events[index].events & EPOLLIN.rawValue != 0 {
                    drain(descriptor, errorQueue: false, buffer: &buffer)
                }
            }
        }
    }

    private func drain(_ descriptor: Int32, errorQueue: Bool, buffer: inout [UInt8]) {
        for _ in 0..<256 {
            var info = sonde_received()
            let length = buffer.withUnsafeMutableBytes {
                sonde_receive(descriptor, $0.baseAddress, $0.count, errorQueue ? 1 : 0, &info)
            }
            guard length >= 0 else { return }
            let bytes = Array(buffer[0..<length])
            let now = sonde_clock_ns(CLOCK_MONOTONIC)
            if let (observer, observation) = match(bytes, info: info, descriptor: descriptor, now: now) {
                observer(observation)
            }
        }
    }

    private func match(
        _ bytes: [UInt8], info: sonde_received, descriptor: Int32, now: Int64
    ) -> (@Sendable (EchoObservation) -> Void, EchoObservation)? {
        state.withLock { state in
            guard let index = state.slots.firstIndex(where: { $0.socket.descriptor == descriptor }) else { return nil }
            var slot = state.slots[index]
            let socket = slot.socket
            let from = IPAddress(info.from)
            if info.is_error != 0 {
                // A ping socket's error queue: the data is our request as sent, ICMP header first.
                guard bytes.count >= 8, bytes[0] == ICMPType.echoRequest(socket.family) else { return nil }
                let wire = ICMPParser.word(bytes, 6)
                guard let pending = slot.pending[wire], let observer = state.observers[pending.session] else { return nil }
                if let from, !from.isSameHost(as: pending.destination) { return nil }
                if info.ee_origin == 1 {  // SO_EE_ORIGIN_LOCAL
                    return (observer, .localError(sequence: pending.sequence, code: info.ee_errno, mtu: info.ee_info))
                }
                let offender = info.has_offender != 0 ? IPAddress(info.offender) : nil
                let mtu = Self.carriesMTU(family: socket.family, type: info.ee_type, code: info.ee_code) ? info.ee_info : 0
                return (observer, .icmpError(
                    sequence: pending.sequence, from: offender ?? pending.destination, family: socket.family,
                    type: info.ee_type, code: info.ee_code, mtu: mtu
                ))
            }
            guard let from else { return nil }
            switch ICMPParser.parse(bytes, family: socket.family, includesIPHeader: socket.deliversIPHeader, controlTTL: info.ttl >= 0 ? Int(info.ttl) : nil) {
            case .unrelated:
                return nil
            case .error(let report):
                guard socket.mode == .datagram || report.identifier == socket.identifier,
                    let pending = slot.pending[report.sequence],
                    report.originalDestination.map({ $0.isSameHost(as: pending.destination) }) ?? true,
                    let observer = state.observers[pending.session]
                else { return nil }
                return (observer, .icmpError(
                    sequence: pending.sequence, from: from, family: socket.family,
                    type: report.type, code: report.code, mtu: report.mtu
                ))
            case .echoReply(let identifier, let wire, let data, let checksumValid, let ttl, let icmpLength):
                guard socket.mode == .datagram || identifier == socket.identifier,
                    var pending = slot.pending[wire],
                    let observer = state.observers[pending.session]
                else { return nil }
                let sameHost = from.isSameHost(as: pending.destination)
                if pending.dataLength >= EchoRequest.tagLength, data.count >= EchoRequest.tagLength {
                    let token = Self.uint32(data, 0)
                    let counter = Self.uint32(data, 4)
                    if token == socket.token, counter != pending.counter { return nil }  // an older epoch
                    if token != socket.token, !sameHost { return nil }  // another process's request
                }
                let rtt = Self.roundTrip(pending: pending, info: info, now: now)
                guard checksumValid else {
                    return (observer, .corrupted(sequence: pending.sequence, from: from, bytes: icmpLength, ttl: ttl, rttMicroseconds: rtt))
                }
                let duplicate = pending.replied
                pending.replied = true
                slot.pending[wire] = pending
                state.slots[index] = slot
                let reply = EchoReply(
                    sequence: pending.sequence,
                    from: from,
                    bytes: icmpLength,
                    ttl: ttl,
                    rttMicroseconds: rtt,
                    duplicate: duplicate,
                    differentAddress: !sameHost,
                    truncated: data.count < pending.dataLength || info.truncated != 0,
                    wrongData: Self.firstWrongByte(data, token: socket.token, counter: pending.counter, dataLength: pending.dataLength)
                )
                return (observer, .reply(reply))
            }
        }
    }

    /// Kernel receive time minus the send time (both CLOCK_REALTIME), unless a clock step makes that
    /// implausible; then the monotonic difference measured in user space.
    private static func roundTrip(pending: PendingEcho, info: sonde_received, now: Int64) -> Int {
        let monotonic = now - pending.sentMonotonic
        if info.has_timestamp != 0 {
            let received = Int64(info.timestamp.tv_sec) * 1_000_000_000 + Int64(info.timestamp.tv_nsec)
            let realtime = received - pending.sentRealtime
            if realtime >= 0, realtime <= monotonic + 1_000_000 {
                return Int(realtime / 1000)
            }
        }
        return Int(max(monotonic, 0) / 1000)
    }

    private static func firstWrongByte(_ data: [UInt8], token: UInt32, counter: UInt32, dataLength: Int) -> WrongData? {
        for index in 0..<min(data.count, dataLength) {
            let expected = EchoRequest.expectedDataByte(at: index, token: token, counter: counter, dataLength: dataLength)
            if data[index] != expected {
                return WrongData(offset: index, expected: expected, actual: data[index])
            }
        }
        return nil
    }

    private static func carriesMTU(family: AddressFamily, type: UInt8, code: UInt8) -> Bool {
        switch family {
        case .ipv4: type == ICMPType.V4.destinationUnreachable && code == 4
        case .ipv6: type == ICMPType.V6.packetTooBig
        }
    }

    private static func uint32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8
            | UInt32(bytes[index + 3])
    }
}
