import Logging
import SondeCore
import SondeGateway
import SondeHTTP
import SondeServer

#if canImport(Glibc)
    import Glibc
#endif

/// `sonde gateway`: the platform's side. Its settings (and token files) are read before the privilege drop;
/// it keeps no capability at all: it only makes TCP connections to sidecars.
enum GatewayCommand {
    static func configuration(_ arguments: [String]) -> GatewayConfiguration {
        var arguments = arguments
        let checkOnly = ServeCommand.removeCheckFlag(from: &arguments)
        let flags = ServeCommand.settingFlags(arguments, declaration: GatewaySettings.declaration, help: help)
        do {
            let configuration = try GatewaySettings.configuration(
                flags: flags, environment: ServeCommand.environment(), readFile: ServeCommand.readFile
            )
            try configuration.listener.checkExposure()
            if checkOnly {
                Output.write(
                    "sonde gateway: settings OK: listen \(configuration.listener.host):\(configuration.listener.port), "
                        + "auth \(configuration.listener.authenticationSummary), "
                        + "agents \(configuration.agents.map(\.description).joined(separator: ",")) port \(configuration.agentPort), "
                        + "agent auth \(configuration.agentToken == nil ? "none" : configuration.agentAuthentication.rawValue)"
                )
                exit(ExitCode.success.rawValue)
            }
            return configuration
        } catch {
            Output.error(error.description)
            exit(ExitCode.usage.rawValue)
        }
    }

    /// Serves until SIGTERM/SIGINT; exit status 0 after a graceful shutdown, 1 when serving failed.
    static func run(_ configuration: GatewayConfiguration, privileges: String) async -> ExitCode {
        let (logger, metrics) = ServeCommand.bootstrap(
            label: "sonde-gateway", format: configuration.listener.logFormat, level: configuration.listener.logLevel)
        let gateway = SondeGateway(configuration: configuration, version: SondeVersion.current, metrics: metrics)
        logger.info(
            "gateway serving",
            metadata: [
                "listen": "\(configuration.listener.host):\(configuration.listener.port)",
                "auth": "\(configuration.listener.token == nil ? "none: loopback only" : "bearer token")",
                "agents": "\(configuration.agents.map(\.description).joined(separator: ","))",
                "restrictions": "\(configuration.listener.restrictions.summary.isEmpty ? "none" : configuration.listener.restrictions.summary)",
                "agentPort": "\(configuration.agentPort)",
                "agentAuth": "\(configuration.agentToken == nil ? "none" : configuration.agentAuthentication.rawValue)",
                "connectTimeout": "\(configuration.connectTimeout)", "timeout": "\(configuration.timeout)",
                "privileges": "\(privileges)",
            ]
        )
        let unauthenticated = configuration.listener.token == nil && configuration.listener.insecure && !configuration.listener.listensOnLoopbackOnly
        return await ServeCommand.serve(logger: logger, unauthenticated: unauthenticated, who: "run probes in every pod") {
            try await gateway.run(logger: $0)
        }
    }

    static func help() -> String {
        """
        OVERVIEW: Forward the platform's probe requests to the Sonde sidecar in a pod, and stream the answers back.
        Only sidecars inside --agents, on --agent-port, are ever called.

        USAGE: sonde gateway --agents <CIDRs> [options]

        ENDPOINTS:
          GET /api/v2/ping/srcIP/{srcIP}/dstIP/{dstIP}/count/{count}
                                               ping dstIP from the pod srcIP (count 1-10)
          GET /v1/agents/{srcIP}/probes        the probes of that pod's sidecar
          GET|POST /v1/agents/{srcIP}/probes/{kind}
                                               run any probe there, as the sidecar's /v1/probes/{kind} takes it
          GET /metrics, /healthz, /readyz, /openapi.json
        Accept is passed on: application/json (default), application/x-ndjson or text/event-stream to stream,
        text/plain for the CLI's text. 502: the sidecar is absent, refused or failed; 504: it was too slow.

        OPTIONS (each also as the environment variable shown, or a key of the --config JSON file):
        \(ServeCommand.optionsHelp(GatewaySettings.declaration))

        --check: validate the settings (reading the token files), print a summary and exit 0, or exit 2 naming
        what is wrong; nothing is served.

        TOKENS: callers send --token-file's token (or \(SettingsReader.tokenVariable)). The gateway signs each request
        to a sidecar with --agent-token-file's token (or \(GatewaySettings.agentTokenVariable)), which never leaves
        it (--agent-auth signed); --agent-auth bearer sends the token itself, to whatever answers at the pod's address.

        REMOTE CLI: sonde --agent http://GATEWAY:8080/v1/agents/POD-IP ping 10.0.0.1

        EXIT STATUS: 0 after a graceful shutdown (SIGTERM/SIGINT), 1 when serving failed, 2 bad settings.
        """
    }
}
