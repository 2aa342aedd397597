import CSondeNet

#if canImport(Glibc)
    import Glibc
#endif

/// An epoll set with a wake-up event, for an event loop that runs on a thread of its own.
///
/// Shared by the ICMP engine and the ``Reactor``: `wait` returns the ready descriptors with their events, and
/// drains the wake-up event itself, so another thread's ``wake()`` simply makes the loop look again.
public final class Poller: Sendable {
    private let descriptor: Int32
    private let wakeup: Int32

    public init() {
        descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        add(wakeup, events: EPOLLIN.rawValue)
    }

    deinit {
        close(descriptor)
        close(wakeup)
    }

    /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLONESHOT …); a descriptor already watched is modified.
    public func add(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        if epoll_ctl(descriptor, EPOLL_CTL_ADD, fd, &event) != 0 {
            epoll_ctl(descriptor, EPOLL_CTL_MOD, fd, &event)
        }
    }

    public func remove(_ fd: Int32) {
        epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, nil)
    }

    /// Makes a `wait` in progress return at once.
    public func wake() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    /// Waits until a watched descriptor is ready, `wake()` is called, or `timeout` passes (`nil`: no limit).
    ///
    /// - Returns: the ready descriptors and their events; `nil` if epoll itself failed (the loop should end).
    public func wait(timeout: Duration?, buffer: inout [epoll_event]) -> [(descriptor: Int32, events: UInt32)]? {
        let nanoseconds = timeout.map { max($0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000, 0) } ?? -1
        let count = sonde_epoll_wait_ns(descriptor, &buffer, Int32(buffer.count), nanoseconds)
        if count < 0 { return errno == EINTR ? [] : nil }
        var ready: [(descriptor: Int32, events: UInt32)] = []
        for index in 0..<Int(count) {
            let fd = buffer[index].data.fd
            if fd == wakeup {
                var value: UInt64 = 0
                _ = read(wakeup, &value, 8)
            } else {
                ready.append((fd, buffer[index].events))
            }
        }
        return ready
    }

    /// Runs `body` on a new detached thread (the engines' event loops).
    public static func startThread(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        if pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
                return nil
            }, context) == 0
        {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
        }
    }
}
