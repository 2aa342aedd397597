import CSondeNet
import ServiceLifecycle

/// Hands memory freed after a burst back to the system once the server is idle again.
///
/// glibc's allocator keeps freed memory in its per-thread arenas; after a spike of concurrent requests a
/// sidecar would otherwise sit at its high-water mark for good, counted against the pod's memory limit.
package struct MemoryTrimService: Service {
    package let state: ServerState
    package var period: Duration = .seconds(2)

    package func run() async throws {
        var seen = state.requestsStarted
        var trimmedAt = seen
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            // The wait ends with the shutdown: an idle server exits at once, not a period later.
            try? await cancelWhenGracefulShutdown { [period] in try await Task.sleep(for: period) }
            let now = state.requestsStarted
            // Quiet for a whole period after some activity: nothing is running, nothing new started.
            if now == seen, now != trimmedAt, state.requestsInFlight == 0 {
                _ = sonde_malloc_trim()
                trimmedAt = now
            }
            seen = now
        }
    }
}
