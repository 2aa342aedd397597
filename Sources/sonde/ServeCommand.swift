import ExternalProbes
import Logging
import Metrics
import Prometheus
import SondeCore
import SondeHTTP
import SondePrivileges
import SondeServer

#if canImport(Glibc)
    import Glibc
#endif

/// `sonde serve`: the sidecar. Its settings are read before the privilege drop (a mounted token file may
/// be readable by root only); the server and its threads start after it.
enum ServeCommand {
    /// Parses flags, the environment, the config file and the token; prints help or an error and exits
    /// when there is nothing to serve.
    static func configuration(_ arguments: [String], probesDirectory: String) -> (configuration: ServerConfiguration, checkOnly: Bool) {
        var arguments = arguments
        let checkOnly = removeCheckFlag(from: &arguments)
        let flags = settingFlags(arguments, declaration: ServerSettings.declaration, help: help)
        do {
            let configuration = try ServerSettings.configuration(flags: flags, environment: environment(), readFile: readFile)
            try configuration.listener.checkExposure()
            try checkTokenHiddenFromPlugins(configuration.listener, probesDirectory: probesDirectory)
            return (configuration, checkOnly)
        } catch {
            Output.error(error.description)
            exit(ExitCode.usage.rawValue)
        }
    }

    /// Refuses a token file the plug-in user could read: a plug-in could then call this sidecar, and any other.
    static func checkTokenHiddenFromPlugins(_ listener: ListenerConfiguration, probesDirectory: String) throws(SettingsError) {
        guard let launcher = PluginLauncher.installed, let tokenFile = listener.tokenFile, launcher.mayRead(tokenFile) else { return }
        throw SettingsError(
            "sonde serve: the token file \(tokenFile) is readable by the plug-in user \(launcher.uid):\(launcher.gid): make it "
                + "readable by root only (chmod 0400; Kubernetes: defaultMode: 0400 on the Secret volume), or remove the plug-ins from \(probesDirectory)"
        )
    }

    /// Removes `--check` (validate the settings, print them, exit) and says whether it was there.
    static func removeCheckFlag(from arguments: inout [String]) -> Bool {
        let before = arguments.count
        arguments.removeAll { $0 == "--check" }
        return arguments.count != before
    }

    /// The settings given on the command line of `sonde serve` or `sonde gateway`; prints help or an error and
    /// exits when there is nothing to run.
    static func settingFlags(_ arguments: [String], declaration: SettingsDeclaration, help: () -> String) -> [String: ParameterValue] {
        let commandLine: ProbeCommandLine
        do {
            commandLine = try ProbeCommandLine(arguments, declaration: declaration)
        } catch {
            Output.error(error.message)
            exit(ExitCode.usage.rawValue)
        }
        if commandLine.showHelp {
            Output.write(help())
            exit(ExitCode.success.rawValue)
        }
        if let extra = commandLine.targets.first {
            Output.error("unexpected argument '\(extra)' for sonde \(declaration.name): it takes options only (see sonde \(declaration.name) --help)")
            exit(ExitCode.usage.rawValue)
        }
        return commandLine.given
    }

    /// `--check`: the settings, the restrictions and the modules file judged as ``run`` would judge them, against
    /// the same probes; exit 0 with a summary, or 2 naming what is wrong.
    static func check(_ configuration: ServerConfiguration, registry: ProbeRegistry) -> ExitCode {
        let modules: BlackboxModules?
        do {
            modules = try configuration.check(registry: registry)
        } catch {
            Output.error("serve: \(error)")
            return .usage
        }
        let moduleSummary =
            modules.map { "\($0.modules.count) modules from \(configuration.modulesFile ?? "the modules file")" } ?? "the default modules"
        Output.write(
            "sonde serve: settings OK: listen \(configuration.listener.host):\(configuration.listener.port), "
                + "auth \(configuration.listener.authenticationSummary), "
                + "deny \(configuration.policy.deny.count) networks, allow \(configuration.policy.allow.isEmpty ? "all others" : "\(configuration.policy.allow.count) networks"), "
                + moduleSummary
        )
        return .success
    }

    /// Serves until SIGTERM/SIGINT; exit status 0 after a graceful shutdown, 1 when serving failed.
    static func run(
        _ configuration: ServerConfiguration, registry: ProbeRegistry, mode: PrivilegeMode, opened: Registration.Opened,
        warnings: [String]
    ) async -> ExitCode {
        let (logger, metrics) = bootstrap(label: "sonde", format: configuration.listener.logFormat, level: configuration.listener.logLevel)
        let reports = opened.resources.map(\.report)
        let startPrivileges = PrivilegeReport.current()
        metrics.setInfo(
            "sonde_privileges_info", help: "What the process holds after the drop (always 1)",
            labels: [
                ("mode", mode.rawValue), ("uid", String(startPrivileges.uid)), ("cap_eff", startPrivileges.effective),
                ("no_new_privs", startPrivileges.noNewPrivs ? "1" : "0"),
            ])
        for metric in reports.flatMap(\.infoMetrics) {
            for labels in metric.series { metrics.setInfo(metric.name, help: metric.help, labels: labels) }
        }
        let server: SondeServer
        do {
            server = try SondeServer(registry: registry, configuration: configuration, version: SondeVersion.current, metrics: metrics) {
                let privileges = PrivilegeReport.current()
                let fields: [(String, JSONValue)] = [
                    ("pid", .integer(Int(getpid()))),
                    ("threads", .integer(PrivilegeReport.threadCount())),
                    ("privilegeMode", .string(mode.rawValue)),
                    ("uid", .integer(Int(privileges.uid))), ("gid", .integer(Int(privileges.gid))),
                    ("capEff", .string(privileges.effective)), ("capPrm", .string(privileges.permitted)),
                    ("capBnd", .string(privileges.bounding)), ("capInh", .string(privileges.inheritable)),
                    ("capAmb", .string(privileges.ambient)), ("noNewPrivs", .boolean(privileges.noNewPrivs)),
                ]
                return .object(fields + reports.flatMap(\.status))
            }
        } catch {
            logger.critical("cannot serve", metadata: ["error": "\(error)"])
            return .usage
        }
        let privileges = PrivilegeReport.current()
        logger.info(
            "serving",
            metadata: [
                "listen":
                    "\(IPAddress(configuration.listener.host)?.endpoint(port: UInt16(configuration.listener.port)) ?? configuration.listener.host)",
                "auth": "\(configuration.listener.token == nil ? "none: loopback only" : "bearer token")",
                "probes": "\(registry.kinds.map(\.rawValue).filter(configuration.listener.restrictions.allows).joined(separator: ","))",
                "restrictions": "\(configuration.listener.restrictions.summary.isEmpty ? "none" : configuration.listener.restrictions.summary)",
                "privilegeMode": "\(mode.rawValue)", "privileges": "\(privileges)", "resources": "\(opened.summary)",
                "allow":
                    "\(configuration.policy.allow.isEmpty ? "all" : configuration.policy.allow.map(\.network.description).joined(separator: ","))",
                "deny": "\(configuration.policy.deny.map(\.network.description).joined(separator: ","))",
                "maxConcurrent": "\(configuration.limits.maxConcurrent)", "maxCount": "\(configuration.limits.maxCount)",
                "maxDuration": "\(configuration.limits.maxDuration)",
            ]
        )
        for warning in warnings { logger.warning("\(warning)") }
        let unauthenticated = configuration.listener.token == nil && configuration.listener.insecure && !configuration.listener.listensOnLoopbackOnly
        return await serve(logger: logger, unauthenticated: unauthenticated, who: "run probes") { try await server.run(logger: $0) }
    }

    /// Sets up logging (text or JSON lines at `level`) and metrics: Sonde's own and any swift-metrics
    /// instrumentation in the libraries, in one Prometheus registry. Once per process, before serving.
    static func bootstrap(
        label: String, format: LogFormat, level: Logger.Level
    ) -> (Logger, AgentMetrics) {
        LoggingSystem.bootstrap { label in SondeLogHandler(label: label, format: format, level: level) }
        var logger = Logger(label: label)
        logger.logLevel = level
        let metrics = AgentMetrics(version: SondeVersion.current)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        return (logger, metrics)
    }

    /// Runs `server` until it stops: 0 after a graceful shutdown, 1 when serving failed. Warns first when it
    /// serves without authentication beyond loopback.
    static func serve(
        logger: Logger, unauthenticated: Bool, who: String, _ server: (Logger) async throws -> Void
    ) async -> ExitCode {
        if unauthenticated {
            logger.warning("serving WITHOUT authentication beyond loopback (--insecure): anyone who reaches this port can \(who)")
        }
        do {
            try await server(logger)
        } catch {
            logger.critical("cannot serve", metadata: ["error": "\(error)"])
            return .failure
        }
        logger.info("stopped")
        return .success
    }

    static func help() -> String {
        let options = optionsHelp(ServerSettings.declaration)
        return """
            OVERVIEW: Serve the probe API over HTTP: the sidecar each pod runs so the platform can probe from \
            the pod's own network.

            USAGE: sonde serve [options]

            ENDPOINTS:
              GET /v1/probes                 the probes and their parameters
              GET|POST /v1/probes/{kind}     run a probe (target and parameters as query or JSON body);
                                             Accept: application/x-ndjson or text/event-stream streams events
              GET /ping/{dstIP}/{count}      ping-style text, count 1-10 (compatibility route)
              GET /v1/status                 privileges, ICMP socket mode, limits, policy
              GET /probe?module=M&target=T   blackbox_exporter-compatible probe metrics (modules: --modules)
              GET /config                    the modules loaded for /probe (credentials as <secret>)
              POST /-/reload                 re-read the modules file, as SIGHUP does; a bad file keeps the loaded one
              GET /metrics                   Sonde's own metrics (Prometheus)
              GET /healthz, GET /readyz      liveness and readiness (no token needed)
              GET /openapi.json              the OpenAPI 3.1 document

            OPTIONS (each also as the environment variable shown, or a key of the --config JSON file):
            \(options)

            --check: validate the settings (reading the token and modules files), print a summary and exit 0, or
            exit 2 naming what is wrong; nothing is served.

            TOKEN: read from --token-file or \(SettingsReader.tokenVariable) (never a flag: ps would show it). Without one,
            Sonde listens on loopback only unless --insecure.

            PRIVILEGES:
            \(CommandTable.columns(GlobalOptions.help.filter { $0.spelling.contains("user") }.map { ($0.spelling, $0.summary) }))

            SIGNALS: SIGTERM/SIGINT drain and stop; SIGHUP re-reads the modules file (as the user Sonde dropped to).

            EXIT STATUS: 0 after a graceful shutdown (SIGTERM/SIGINT), 1 when serving failed, 2 bad settings.
            """
    }

    /// One line per setting of `declaration`: its flag, summary, environment variable and default.
    static func optionsHelp(_ declaration: SettingsDeclaration) -> String {
        let rows = declaration.parameters.map { spec -> (String, String) in
            var spelling = spec.longOption
            if spec.type != .boolean { spelling += " <\(spec.type.placeholder)>" }
            var summary = spec.summary
            if case .choice(let words) = spec.type { summary += " [\(words.joined(separator: "|"))]" }
            summary += " [\(SettingsReader.environmentName(of: spec.name))]"
            if let value = spec.defaultValue { summary += " (default: \(value))" }
            return (spelling, summary)
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { "  " + $0.0.padding(width + 1) + " " + $0.1 }.joined(separator: "\n")
    }

    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// Reads a settings, token or modules file (at most 16 MiB) before the privilege drop.
    static func readFile(_ path: String) throws -> [UInt8] {
        try SmallFile.whole(of: path, atMost: SettingsReader.maxFileBytes)
    }
}
