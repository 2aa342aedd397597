import HTTPTypes
import Hummingbird
import NIOCore
import SondeCore
import SondeHTTP

/// `GET /probe?module=…&target=…[&debug=true]`: blackbox_exporter's probe endpoint over Sonde's probes.
///
/// Like blackbox: a probe that ran (or could not resolve its target) is `200` with `probe_success 0|1`; a
/// missing target or an unknown module is `400`; the scrape timeout header, less 0.5 s, bounds the run (or
/// the module's timeout, if shorter); `hostname` names the host an http request carries (and a tcp module's TLS). Unlike blackbox: the scrape must authenticate, the target policy and
/// the limits apply, a bad timeout header is `400` not `500`, and only `module`, `target`, `hostname` and
/// `debug` are read from the URL.
enum BlackboxEndpoint {
    /// blackbox_exporter's safety margin under Prometheus's scrape timeout.
    static let timeoutOffset: Duration = .milliseconds(500)

    static func respond(to request: Request, modules: BlackboxModules, service: ProbeService, client: String) async throws -> Response {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        guard let moduleName = query["module"], !moduleName.isEmpty else {
            throw APIError(.badRequest, code: "missing_module", "Module parameter is missing: /probe?module=NAME&target=TARGET", field: "module")
        }
        guard let module = modules.modules[moduleName] else {
            let known = modules.modules.keys.sorted().joined(separator: ", ")
            throw APIError(.badRequest, code: "unknown_module", "Unknown module \"\(moduleName)\" (modules: \(known))", field: "module")
        }
        guard let target = query["target"], !target.isEmpty else {
            throw APIError(.badRequest, code: "missing_target", "Target parameter is missing", field: "target")
        }
        var timeout = module.timeout
        if let header = request.headers[HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!] {
            guard let seconds = Double(header), seconds.isFinite, seconds > 0 else {
                throw APIError(.badRequest, code: "invalid_timeout", "X-Prometheus-Scrape-Timeout-Seconds '\(header)' is not a number of seconds")
            }
            // Clamped, never trusted: the run is bounded by the server's own limit whatever the header says.
            let scrape = Duration.clampedSeconds(seconds - timeoutOffset.inSeconds, within: 0.1...service.limits.maxDuration)
            timeout = min(timeout ?? scrape, scrape)
        }
        let hostname = query["hostname"]
        if let hostname {
            guard HostName.isValid(hostname) || IPAddress(hostname) != nil else {
                throw APIError(
                    .badRequest, code: "invalid_hostname", "hostname '\(hostname.prefix(256))' is not a host name or an address", field: "hostname")
            }
            if let own = module.hostname, own.lowercased() != hostname.lowercased() {
                throw APIError(
                    .badRequest, code: "hostname_conflict",
                    "Host header defined both in module \(module.name) (\(own)) and as the hostname parameter (\(hostname))", field: "hostname")
            }
        }
        let (probeTarget, addressing) = module.addressing(target, hostname: hostname)
        var input = try ProbeInput.decode(query: [("target", probeTarget)])
        input.given = module.parameters.merging(addressing) { own, _ in own }
        if let parameter = module.targetParameter { input.given[parameter] = .string(target) }

        let debug = query["debug"] == "true"
        var debugLog = BlackboxDebugLog(module: module.name, target: target)
        if debug { debugLog.begin(probe: module.probe.rawValue, timeout: timeout) }
        let (samples, log) = try await service.samples(
            kind: module.probe.rawValue, input: input, client: client, timeout: timeout, keepingLog: debug)
        let metrics = MetricExposition.render(samples)
        guard debug else {
            return Response(status: .ok, headers: [.contentType: MetricExposition.contentType], body: .init(byteBuffer: ByteBuffer(string: metrics)))
        }
        let configuration = module.displayed(descriptors: service.listing)
        let value = { (name: String) in samples.first { $0.name == name }?.value ?? 0 }
        debugLog.add(probeLog: log, success: value("probe_success") == 1, duration: value("probe_duration_seconds"))
        let text =
            "Logs for the probe:\n" + debugLog.lines.map { $0 + "\n" }.joined() + "\n\n\nMetrics that would have been returned:\n"
            + metrics + "\n\n\nModule configuration:\n" + configuration
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
