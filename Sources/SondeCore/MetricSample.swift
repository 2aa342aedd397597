/// One Prometheus sample a probe's result translates into (the blackbox-compatible `/probe` endpoint).
public struct MetricSample: Sendable, Equatable {
    public var name: String
    /// One line for the `# HELP` comment.
    public var help: String
    public var labels: [String: String]
    public var value: Double

    public init(_ name: String, _ value: Double, help: String, labels: [String: String] = [:]) {
        self.name = name
        self.value = value
        self.help = help
        self.labels = labels
    }
}

/// A probe summary that knows its Prometheus names: blackbox_exporter's where they exist (so dashboards and
/// alerts carry over), and Sonde's own for what blackbox lacks (several packets: loss, duplicates, RTT spread).
///
/// The endpoint adds what every probe has: `probe_success`, `probe_duration_seconds`, `probe_ip_protocol`,
/// `probe_ip_addr_hash` and `probe_dns_lookup_time_seconds`.
public protocol ProbeMetricsReporting {
    var metricSamples: [MetricSample] { get }
}

extension RTTSummary {
    /// `<prefix>_rtt_{min,avg,max,stddev}_seconds` for a multi-sample summary (iputils mdev is the standard deviation).
    public func samples(prefix: String, what: String) -> [MetricSample] {
        [
            MetricSample("\(prefix)_min_seconds", minMs / 1000, help: "Shortest \(what) in seconds"),
            MetricSample("\(prefix)_avg_seconds", avgMs / 1000, help: "Mean \(what) in seconds"),
            MetricSample("\(prefix)_max_seconds", maxMs / 1000, help: "Longest \(what) in seconds"),
            MetricSample("\(prefix)_stddev_seconds", mdevMs / 1000, help: "Standard deviation of the \(what) in seconds"),
        ]
    }
}
