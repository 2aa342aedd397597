import Prometheus
import SondeCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Sonde's own metrics, served at `GET /metrics`: requests, probes, rejections, privilege and socket state,
/// and the process (RSS, descriptors, threads, CPU). Probe results go to `/probe`, not here.
public final class AgentMetrics: Sendable {
    /// Every series lives here; `sonde serve` also makes it swift-metrics' backend.
    public let registry: PrometheusCollectorRegistry
    private let inFlight: Gauge
    private let residentBytes: Gauge
    private let openDescriptors: Gauge
    private let threads: Gauge
    private let cpuSeconds: Counter
    private let cpuSeen = Mutex<Double>(0)
    /// Labelled series already registered, so the hot path looks them up once, not through the registry.
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    private static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String) {
        self.registry = registry
        inFlight = registry.makeGauge(descriptor: Self.name("sonde_probes_in_flight", help: "Probes running now"))
        residentBytes = registry.makeGauge(descriptor: Self.name("process_resident_memory", unit: "bytes", help: "Resident memory size in bytes"))
        openDescriptors = registry.makeGauge(descriptor: Self.name("process_open_fds", help: "Open file descriptors"))
        threads = registry.makeGauge(descriptor: Self.name("process_threads", help: "Threads of the process"))
        cpuSeconds = registry.makeCounter(descriptor: Self.name("process_cpu_seconds", unit: "total", help: "User and system CPU time in seconds"))
        setInfo("sonde_build_info", help: "Sonde's version (always 1)", labels: [("version", version)])
    }

    /// An info gauge: a constant 1 whose labels carry the facts (privileges, socket modes).
    public func setInfo(_ name: String, help: String, labels: [(String, String)]) {
        registry.makeGauge(descriptor: Self.name(name, help: help), labels: labels).set(to: 1)
    }

    private static func name(_ name: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: unit, helpText: help)
    }

    package func request(route: String, status: Int) {
        counter("sonde_http_requests", help: "HTTP requests by route and status", labels: [("route", route), ("status", String(status))])
            .increment()
    }

    /// A request refused before a probe ran: `auth`, `policy`, `limit`, `invalid`.
    package func rejected(_ reason: String) {
        counter("sonde_requests_rejected", help: "Requests refused before a probe ran, by reason", labels: [("reason", reason)])
            .increment()
    }

    private func counter(_ name: String, help: String, labels: [(String, String)]) -> Counter {
        let key = name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
        if let known = counters.withLock({ $0[key] }) { return known }
        let made = registry.makeCounter(descriptor: Self.name(name, unit: "total", help: help), labels: labels)
        counters.withLock { $0[key] = made }
        return made
    }

    /// How the last load of the configuration (the modules file) went, and when one last succeeded (Unix time).
    package func configurationLoaded(successfully: Bool, at lastSuccess: Double) {
        registry.makeGauge(
            descriptor: Self.name("sonde_config_last_reload_successful", help: "Whether the last load of the modules file succeeded")
        ).set(to: successfully ? 1 : 0)
        registry.makeGauge(
            descriptor: Self.name(
                "sonde_config_last_reload_success_timestamp", unit: "seconds", help: "When the modules file was last loaded successfully (Unix time)")
        ).set(to: lastSuccess)
    }

    package func probeStarted() { inFlight.increment(by: 1) }

    /// A probe ended: `success`, `failure` (ran, verdict false) or `error` (could not run).
    package func probeFinished(kind: String, outcome: String, duration: Duration) {
        inFlight.decrement(by: 1)
        counter("sonde_probes", help: "Probes run, by kind and outcome", labels: [("kind", kind), ("outcome", outcome)]).increment()
        let histogram: DurationHistogram
        if let known = histograms.withLock({ $0[kind] }) {
            histogram = known
        } else {
            histogram = registry.makeDurationHistogram(
                descriptor: Self.name("sonde_probe_duration", unit: "seconds", help: "How long probes ran, by kind"),
                labels: [("kind", kind)], buckets: Self.durationBuckets
            )
            histograms.withLock { $0[kind] = histogram }
        }
        histogram.record(duration)
    }

    /// A request the gateway forwarded to a sidecar: `ok` (the sidecar answered), `unreachable`, `timeout`,
    /// `bad_response` or `auth_failed`.
    package func forwarded(outcome: String) {
        counter("sonde_gateway_forwards", help: "Requests the gateway forwarded to sidecars, by outcome", labels: [("outcome", outcome)])
            .increment()
    }

    /// The exposition text, with the process figures read now.
    package func render() -> [UInt8] {
        refreshProcess()
        return registry.emitToBuffer()
    }

    private func refreshProcess() {
        let status = Self.read("/proc/self/status")
        for line in status.split(separator: "\n") {
            if line.hasPrefix("VmRSS:"), let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
                residentBytes.set(to: kilobytes * 1024)
            } else if line.hasPrefix("Threads:"), let count = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
            {
                threads.set(to: count)
            }
        }
        var descriptors = 0
        if let directory = opendir("/proc/self/fd") {
            while readdir(directory) != nil { descriptors += 1 }
            closedir(directory)
        }
        openDescriptors.set(to: Double(max(0, descriptors - 3)))  // ".", ".." and the one opendir holds
        // utime and stime are fields 14 and 15 of /proc/self/stat, in clock ticks; fields after the ")" of comm.
        let stat = Self.read("/proc/self/stat")
        if let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                let seconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
                let delta = cpuSeen.withLock { seen -> Double in
                    defer { seen = max(seen, seconds) }
                    return max(0, seconds - seen)
                }
                if delta > 0 { cpuSeconds.increment(by: delta) }
            }
        }
    }

    private static func read(_ path: String) -> String {
        String(decoding: (try? SmallFile.contents(of: path, maxBytes: 1_048_576)) ?? [], as: UTF8.self)
    }
}
