import CSondeNet
import SondeCore
import SondeIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shared ICMP machinery of the process: one socket per address family (plus one per non-default
/// path-MTU setting, opened on first use), one thread, and a table of requests in flight.
///
/// Every concurrent ping — many targets, many API requests — goes through the same sockets and the same
/// thread, which sends each session's requests on schedule, times them out, and reads replies (fping's design:
/// one event loop, no timer or thread per target). Requests get socket-wide 16-bit sequence numbers; replies are
/// matched by socket, identifier, sequence, the data tag (token and 32-bit send counter) and source.
/// Per-request TTL, TOS, source and interface travel as control messages, so they need no socket of their own.
public final class ICMPEngine: Sendable {
    private let core: EngineCore

    /// Opens the sockets and starts the engine's thread (see ``ICMPSockets/open(mode:)``).
    public static func open(mode: ICMPSocketMode? = nil) -> ICMPEngine {
        ICMPEngine(sockets: .open(mode: mode))
    }

    /// Starts the engine's thread over sockets opened earlier — before privileges were dropped.
    public convenience init(sockets: ICMPSockets) {
        self.init(sockets: sockets, firstCounter: UInt32.random(in: 0...UInt32(UInt16.max)))
    }

    package init(sockets: ICMPSockets, firstCounter: UInt32) {
        core = EngineCore(defaults: sockets.defaults, firstCounter: firstCounter)
    }

    package convenience init(mode: ICMPSocketMode?, firstCounter: UInt32) {
        self.init(sockets: .open(mode: mode), firstCounter: firstCounter)
    }

    deinit { core.stop() }

    /// The socket mode in use for `family`, or the error that made it unavailable.
    public func mode(for family: AddressFamily) -> Result<ICMPSocketMode, ProbeError> {
        core.defaults[family].map(\.mode)
    }

    /// How many ICMP sockets are open (the defaults plus one per path-MTU setting in use).
    package var openSocketCount: Int { core.socketCount }

    /// The send counter of the default socket of `family` (tests watch it wrap).
    package func nextCounter(for family: AddressFamily) -> UInt32? { core.counter(of: SocketKey(family: family, pmtu: nil)) }

    /// Starts a session: its first request goes out at once, the rest on `schedule`. Observations are
    /// delivered on the engine's thread, in the order things happened.
    package func openSession(
        to destination: IPAddress,
        options: EchoOptions,
        schedule: EchoSchedule,
        observer: @escaping @Sendable (EchoObservation) -> Void
    ) throws(ProbeError) -> EchoSession {
        try core.openSession(to: destination, options: options, schedule: schedule, observer: observer)
    }
}

/// Per-session settings of the echo requests.
package struct EchoOptions: Sendable {
    package var dataLength = 56
    package var ttl: Int?
    package var trafficClass: Int?
    package var pmtu: PMTUDiscovery?
    package var interfaceIndex: UInt32 = 0
    package var source: IPAddress?
    /// How long after sending a request a reply is still attributed to it (and reported late).
    package var lateWindow: Duration = .seconds(12)

    package init() {}

    package var sendOptions: sonde_send_options {
        var send = sonde_send_options()
        send.ttl = Int32(ttl ?? -1)
        send.tclass = Int32(trafficClass ?? -1)
        send.ifindex = Int32(interfaceIndex)
        if let source {
            send.has_source = 1
            send.source = source.socketAddress().storage
        }
        return send
    }
}

/// When a session's requests go out and how long each waits for its reply.
package struct EchoSchedule: Sendable {
    /// Stop after this many requests; `nil` sends until ``EchoSession/stopSending()`` or the deadline.
    package var count: Int?
    package var interval: Duration
    package var timeout: Duration
    /// The session receives ``EchoObservation/deadlineReached`` then.
    package var deadline: ContinuousClock.Instant?
    /// Spaces sends across every session that shares it.
    package var pacer: SendPacer?

    package init(count: Int?, interval: Duration, timeout: Duration, deadline: ContinuousClock.Instant?, pacer: SendPacer?) {
        self.count = count
        self.interval = interval
        self.timeout = timeout
        self.deadline = deadline
        self.pacer = pacer
    }
}

/// A run of echo requests to one destination, sharing the engine's sockets and thread.
package final class EchoSession: Sendable {
    package let id: Int
    package let key: SocketKey
    private let core: EngineCore

    fileprivate init(id: Int, key: SocketKey, core: EngineCore) {
        self.id = id
        self.key = key
        self.core = core
    }

    /// The socket mode this session sends through.
    package var mode: ICMPSocketMode { core.mode(of: key) }

    /// No further requests; those in flight still end (reply, error or timeout).
    package func stopSending() { core.stopSending(id) }

    /// Ends the session: nothing more is sent or delivered. Requests still in flight are forgotten.
    package func close() { core.closeSession(id) }
}

/// Which socket a session uses: the family's default, or one with a path-MTU setting.
package struct SocketKey: Hashable, Sendable {
    package var family: AddressFamily
    package var pmtu: PMTUDiscovery?
}

/// The ICMP and ICMPv6 sockets, opened before anything else so privileges can be dropped right after.
///
/// Opening starts no thread (the engine's thread starts with ``ICMPEngine/init(sockets:)``).
public struct ICMPSockets: Sendable {
    fileprivate let defaults: DefaultSockets

    /// Opens one socket per family: raw if permitted, else an unprivileged ping socket (see ``ICMPSocketMode``).
    ///
    /// A family that cannot be opened is remembered with its error, which is thrown to the first probe that
    /// needs that family; the other family keeps working.
    ///
    /// - Parameter mode: force one socket mode for both families instead of trying raw first.
    public static func open(mode: ICMPSocketMode? = nil) -> ICMPSockets {
        func open(_ family: AddressFamily) -> Result<ICMPSocket, ProbeError> {
            do {
                return .success(try ICMPSocket.open(family, mode: mode))
            } catch {
                return .failure(error)
            }
        }
        return ICMPSockets(defaults: DefaultSockets(ipv4: open(.ipv4), ipv6: open(.ipv6)))
    }

    /// No sockets, for commands that send no ICMP: a ping then fails with `reason`.
    public static func notOpened(_ reason: String) -> ICMPSockets {
        let error = ProbeError(.socketUnavailable, reason)
        return ICMPSockets(defaults: DefaultSockets(ipv4: .failure(error), ipv6: .failure(error)))
    }

    /// The socket mode of `family`, or the error that made it unavailable.
    public func mode(for family: AddressFamily) -> Result<ICMPSocketMode, ProbeError> {
        defaults[family].map(\.mode)
    }
}

/// The sockets opened up front, one per family, or why a family has none.
private struct DefaultSockets: Sendable {
    package var ipv4: Result<ICMPSocket, ProbeError>
    package var ipv6: Result<ICMPSocket, ProbeError>

    package subscript(family: AddressFamily) -> Result<ICMPSocket, ProbeError> {
        family == .ipv4 ? ipv4 : ipv6
    }

    package var opened: [ICMPSocket] {
        [ipv4, ipv6].compactMap { try? $0.get() }
    }
}

/// A request in flight.
private struct PendingEcho {
    package var session: Int
    package var sequence: Int
    package var counter: UInt32
    package var destination: IPAddress
    package var dataLength: Int
    package var sentRealtime: Int64
    package var sentMonotonic: Int64
    package var expires: Int64
    package var replied = false
}

private struct SocketSlot {
    package let key: SocketKey
    package let socket: ICMPSocket
    package var counter: UInt32
    package var pending: [UInt16: PendingEcho] = [:]
}

private struct SessionState {
    package let key: SocketKey
    package let destination: IPAddress
    package let options: EchoOptions
    package let sendOptions: sonde_send_options
    package let schedule: EchoSchedule
    package let observer: @Sendable (EchoObservation) -> Void
    package let start: ContinuousClock.Instant
    package var nextSequence = 1
    package var sending = true
}

private enum TimedAction {
    /// `paced`: the session's pacer slot is already reserved for this instant.
    case send(session: Int, paced: Bool)
    case timeout(session: Int, key: SocketKey, wire: UInt16, counter: UInt32)
    case deadline(session: Int)
}

private typealias Delivery = (observer: @Sendable (EchoObservation) -> Void, observation: EchoObservation)

private struct EngineState {
    /// A handful at most (one per family and path-MTU setting), so a list beats a hash table.
    package var slots: [SocketSlot] = []
    package var sessions: [Int: SessionState] = [:]
    package var timers = TimerQueue<TimedAction>()
    package var nextSession = 1
    package var stopping = false

    package func index(of key: SocketKey) -> Int? { slots.firstIndex { $0.key == key } }

    /// Moves a slot out of the list so its request table can be changed in place (a copy left in the list
    /// would make every change copy the whole table). The caller puts it back.
    package mutating func takeSlot(at index: Int) -> SocketSlot {
        let slot = slots[index]
        slots[index].pending = [:]
        return slot
    }
}

private final class EngineCore: Sendable {
    package let defaults: DefaultSockets
    private let state: Mutex<EngineState>
    private let poller = Poller()
    private let firstCounter: UInt32

    package init(defaults: DefaultSockets, firstCounter: UInt32) {
        self.defaults = defaults
        self.firstCounter = firstCounter
        var initial = EngineState()
        for socket in defaults.opened {
            initial.slots.append(SocketSlot(key: SocketKey(family: socket.family, pmtu: nil), socket: socket, counter: firstCounter))
        }
        state = Mutex(initial)
        for socket in defaults.opened { watch(socket.descriptor) }
    }

    /// The event loop's thread starts with the first session, so a process that never pings has none.
    private let started = Mutex(false)

    private func startIfNeeded() {
        let start = started.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        // The thread holds the core until stop() ends its loop.
        if start { Poller.startThread { [self] in eventLoop() } }
    }

    private func watch(_ descriptor: Int32) {
        poller.add(descriptor, events: EPOLLIN.rawValue | EPOLLERR.rawValue)
    }

    /// Makes the event loop look at its timers again (or notice it should stop).
    private func wake() { poller.wake() }

    package func stop() {
        state.withLock { $0.stopping = true }
        wake()
    }

    package var socketCount: Int { state.withLock { $0.slots.count } }

    package func counter(of key: SocketKey) -> UInt32? {
        state.withLock { state in state.index(of: key).map { state.slots[$0].counter } }
    }

    package func mode(of key: SocketKey) -> ICMPSocketMode {
        state.withLock { state in state.index(of: key).map { state.slots[$0].socket.mode } } ?? .raw
    }

    // MARK: - Sessions

    package func openSession(
        to destination: IPAddress,
        options: EchoOptions,
        schedule: EchoSchedule,
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
        let now = ContinuousClock.now
        let id = state.withLock { state -> Int in
            let id = state.nextSession
            state.nextSession += 1
            state.sessions[id] = SessionState(
                key: key, destination: destination, options: options, sendOptions: options.sendOptions,
                schedule: schedule, observer: observer, start: now
            )
            state.timers.schedule(.send(session: id, paced: false), at: now)
            if let deadline = schedule.deadline { state.timers.schedule(.deadline(session: id), at: deadline) }
            return id
        }
        startIfNeeded()
        wake()
        return EchoSession(id: id, key: key, core: self)
    }

    package func stopSending(_ id: Int) {
        state.withLock { $0.sessions[id]?.sending = false }
    }

    package func closeSession(_ id: Int) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    // MARK: - The event loop

    private func eventLoop() {
        var events = [epoll_event](repeating: epoll_event(), count: 16)
        var buffer = [UInt8](repeating: 0, count: 65_536 + 512)
        while true {
            let (deliveries, earliest, stopping) = state.withLock { state in
                let deliveries = fireDueTimers(&state, now: .now)
                return (deliveries, state.timers.earliest, state.stopping)
            }
            if stopping { return }
            // Delivered before the sockets are read again, so a session hears of a send before its reply.
            for delivery in deliveries { delivery.observer(delivery.observation) }
            guard let ready = poller.wait(timeout: earliest.map { $0 - .now }, buffer: &events) else { return }
            for (descriptor, flags) in ready {
                if flags & EPOLLERR.rawValue != 0 { drain(descriptor, errorQueue: true, buffer: &buffer) }
                if flags & EPOLLIN.rawValue != 0 { drain(descriptor, errorQueue: false, buffer: &buffer) }
            }
        }
    }

    private func fireDueTimers(_ state: inout EngineState, now: ContinuousClock.Instant) -> [Delivery] {
        var deliveries: [Delivery] = []
        while let action = state.timers.popDue(by: now) {
            switch action {
            case .send(let id, let paced):
                guard var session = state.sessions[id], session.sending else { continue }
                if !paced, let pacer = session.schedule.pacer {
                    // Each waiting session gets its own slot, so a thousand due at once cost a thousand
                    // timers, not a thousand retries each.
                    let slot = pacer.reserveSlot(at: now)
                    if slot > now {
                        state.timers.schedule(.send(session: id, paced: true), at: slot)
                        continue
                    }
                }
                let sequence = session.nextSequence
                session.nextSequence += 1
                switch send(&state, session: id, sequence: sequence, details: session) {
                case .sent(let wire, let counter):
                    deliveries.append((session.observer, .sent(sequence: sequence, at: now)))
                    state.timers.schedule(
                        .timeout(session: id, key: session.key, wire: wire, counter: counter),
                        at: now + session.schedule.timeout
                    )
                case .failed(let code):
                    deliveries.append((session.observer, .sendFailed(sequence: sequence, code: code)))
                }
                if let count = session.schedule.count, session.nextSequence > count {
                    session.sending = false
                    deliveries.append((session.observer, .allSent))
                } else {
                    state.timers.schedule(.send(session: id, paced: false), at: session.start + session.schedule.interval * sequence)
                }
                state.sessions[id] = session
            case .timeout(let id, let key, let wire, let counter):
                guard let session = state.sessions[id], let index = state.index(of: key),
                    let pending = state.slots[index].pending[wire],
                    pending.session == id, pending.counter == counter, !pending.replied
                else { continue }
                deliveries.append((session.observer, .timedOut(sequence: pending.sequence)))
            case .deadline(let id):
                guard let session = state.sessions[id] else { continue }
                state.sessions[id]?.sending = false
                deliveries.append((session.observer, .deadlineReached))
            }
        }
        return deliveries
    }

    private enum Sent {
        case sent(wire: UInt16, counter: UInt32)
        case failed(Int32)
    }

    /// Sends one request of `session` and records it. Runs on the event loop with the state locked, so a
    /// reply can never be matched before its request is recorded.
    private func send(_ state: inout EngineState, session id: Int, sequence: Int, details: SessionState) -> Sent {
        guard let index = state.index(of: details.key) else { return .failed(EBADF) }
        let now = sonde_clock_ns(CLOCK_MONOTONIC)
        var slot = state.takeSlot(at: index)
        defer { state.slots[index] = slot }
        // The next sequence number not held by a live request.
        var found = false
        for _ in 0...Int(UInt16.max) {
            if let existing = slot.pending[UInt16(truncatingIfNeeded: slot.counter)], existing.expires > now,
                state.sessions[existing.session] != nil
            {
                slot.counter &+= 1
                continue
            }
            found = true
            break
        }
        guard found else { return .failed(ENOBUFS) }
        let counter = slot.counter
        let wire = UInt16(truncatingIfNeeded: counter)
        slot.counter &+= 1
        let packet = EchoRequest(
            family: details.destination.family,
            identifier: slot.socket.identifier,
            sequence: wire,
            token: slot.socket.token,
            counter: counter,
            dataLength: details.options.dataLength
        ).encoded()
        var (address, length) = details.destination.socketAddress()
        var options = details.sendOptions
        var sentRealtime = timespec()
        var sentMonotonic = timespec()
        func attempt() -> Int {
            packet.withUnsafeBytes { bytes in
                sonde_send(
                    slot.socket.descriptor, bytes.baseAddress, bytes.count, &address, length, &options,
                    &sentRealtime, &sentMonotonic
                )
            }
        }
        var sent = attempt()
        // A ping socket keeps the last ICMP error another request got (time exceeded, unreachable) as its pending
        // socket error, and the next send reports that instead of sending; the report clears it, so send again.
        if sent < 0, slot.socket.mode == .datagram, Self.socketErrorsOfICMP.contains(errno) { sent = attempt() }
        guard sent >= 0 else { return .failed(errno) }
        let monotonic = Int64(sentMonotonic.tv_sec) * 1_000_000_000 + Int64(sentMonotonic.tv_nsec)
        slot.pending[wire] = PendingEcho(
            session: id,
            sequence: sequence,
            counter: counter,
            destination: details.destination,
            dataLength: details.options.dataLength,
            sentRealtime: Int64(sentRealtime.tv_sec) * 1_000_000_000 + Int64(sentRealtime.tv_nsec),
            sentMonotonic: monotonic,
            expires: monotonic + details.options.lateWindow.inNanoseconds
        )
        return .sent(wire: wire, counter: counter)
    }

    /// What a ping socket's pending error is after an ICMP error (`ping_err`): one of these fails the next send once.
    private static let socketErrorsOfICMP: Set<Int32> = [EHOSTUNREACH, ENETUNREACH, ECONNREFUSED, EACCES, EPROTO, EMSGSIZE]

    // MARK: - Receiving

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
            var slot = state.takeSlot(at: index)
            defer { state.slots[index] = slot }
            let socket = slot.socket
            let from = IPAddress(info.from)
            if info.is_error != 0 {
                // A ping socket's error queue: the data is our request as sent, ICMP header first.
                guard bytes.count >= 8, bytes[0] == ICMPType.echoRequest(socket.family) else { return nil }
                let wire = ICMPParser.word(bytes, 6)
                guard let pending = slot.pending[wire], let observer = state.sessions[pending.session]?.observer else { return nil }
                if let from, !from.isSameHost(as: pending.destination) { return nil }
                if info.ee_origin == 1 {  // SO_EE_ORIGIN_LOCAL
                    return (observer, .localError(sequence: pending.sequence, code: info.ee_errno, mtu: info.ee_info))
                }
                let offender = info.has_offender != 0 ? IPAddress(info.offender) : nil
                let mtu = Self.carriesMTU(family: socket.family, type: info.ee_type, code: info.ee_code) ? info.ee_info : 0
                return (
                    observer,
                    .icmpError(
                        sequence: pending.sequence, from: offender ?? pending.destination, family: socket.family,
                        type: info.ee_type, code: info.ee_code, mtu: mtu, rttMicroseconds: Self.roundTrip(pending: pending, info: info, now: now)
                    )
                )
            }
            guard let from else { return nil }
            switch ICMPParser.parse(
                bytes, family: socket.family, includesIPHeader: socket.deliversIPHeader, controlTTL: info.ttl >= 0 ? Int(info.ttl) : nil)
            {
            case .unrelated:
                return nil
            case .error(let report):
                guard socket.mode == .datagram || report.identifier == socket.identifier,
                    let pending = slot.pending[report.sequence],
                    report.originalDestination.map({ $0.isSameHost(as: pending.destination) }) ?? true,
                    let observer = state.sessions[pending.session]?.observer
                else { return nil }
                return (
                    observer,
                    .icmpError(
                        sequence: pending.sequence, from: from, family: socket.family,
                        type: report.type, code: report.code, mtu: report.mtu, rttMicroseconds: Self.roundTrip(pending: pending, info: info, now: now)
                    )
                )
            case .echoReply(let identifier, let wire, let data, let checksumValid, let ttl, let icmpLength):
                guard socket.mode == .datagram || identifier == socket.identifier,
                    var pending = slot.pending[wire],
                    let observer = state.sessions[pending.session]?.observer
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
