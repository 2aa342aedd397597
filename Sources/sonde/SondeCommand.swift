import SondeCore

/// The commands of `sonde` that are not probes, in one table: it dispatches them and writes `sonde --help` and
/// `sonde help <command>`. Probes parse and explain themselves from their declarations (``ProbeCommandLine``).
enum CommandTable {
    struct Command: Sendable {
        let name: String
        let summary: String
        let help: @Sendable () -> String
    }

    static let commands: [Command] = [
        Command(name: "probes", summary: "List the probes and their parameters (--json: as JSON)", help: { ProbesCommand.help }),
        Command(name: "serve", summary: "Serve the probe API over HTTP: the sidecar (sonde serve --help)", help: ServeCommand.help),
        Command(
            name: "gateway", summary: "Forward the platform's requests to the sidecar in a pod (sonde gateway --help)", help: GatewayCommand.help),
        Command(
            name: "healthcheck", summary: "Exit 0 when a Sonde answers GET /healthz: for container health checks", help: { HealthcheckCommand.help }),
        Command(name: "help", summary: "sonde help <command>: the help of a command or probe", help: { "USAGE: sonde help <command>" }),
        Command(name: "version", summary: "Print the version (also sonde --version)", help: { "USAGE: sonde version" }),
    ]

    /// Names a probe kind may not take: the commands, and `run`, kept for later use.
    static var reservedNames: [String] { commands.map(\.name) + ["run"] }

    /// Runs what is left once probes, `serve`, `gateway` and `healthcheck` are handled: `sonde` alone, `--help`,
    /// `--version`, `help [command]`, `version` and `probes`.
    static func run(_ arguments: [String], registry: ProbeRegistry) -> ExitCode {
        guard let first = arguments.first else {
            Output.write(help(registry))
            return .success
        }
        switch first {
        case "-h", "--help":
            Output.write(help(registry))
            return .success
        case "--version", "version":
            Output.write(SondeVersion.current)
            return .success
        case "help":
            guard let topic = arguments.dropFirst().first else {
                Output.write(help(registry))
                return .success
            }
            if let probe = registry[ProbeKind(rawValue: topic)] {
                Output.write(ProbeCommandLine.help(for: probe.descriptor))
                return .success
            }
            guard let command = commands.first(where: { $0.name == topic }) else {
                Output.error(
                    "no help for '\(topic)': expected a probe (\(kinds(registry))) or a command (\(commands.map(\.name).joined(separator: ", ")))")
                return .usage
            }
            Output.write(command.help())
            return .success
        case "probes":
            return ProbesCommand.run(Array(arguments.dropFirst()), registry: registry)
        default:
            Output.error("unknown option '\(first)' (see sonde --help)")
            return .usage
        }
    }

    static func kinds(_ registry: ProbeRegistry) -> String { registry.kinds.map(\.rawValue).joined(separator: ", ") }

    /// `sonde --help`: the probes (compiled-in and external) and the commands, from their declarations.
    static func help(_ registry: ProbeRegistry) -> String {
        let probes = registry.descriptors.map { ($0.kind.rawValue, $0.summary) }
        let others = commands.map { ($0.name, $0.summary) }
        let global = GlobalOptions.help.map { ($0.spelling, $0.summary) }
        return """
            OVERVIEW: Network diagnostics from where it matters: ping, TCP, UDP, DNS, HTTP, gRPC, traceroute, mtr and tracepath probes, a sidecar and a gateway.

            USAGE: sonde [global options] <probe> [options] <target> ...
                   sonde [global options] <command> [options]

            PROBES (sonde <probe> --help for its options):
            \(columns(probes, atLeast: 6))

            COMMANDS:
            \(columns(others))

            GLOBAL OPTIONS:
            \(columns(global))

            REMOTE: sonde --agent http://POD-IP:8090 <probe> … runs the probe on that sidecar; through a gateway,
                    --agent http://GATEWAY:8080/v1/agents/POD-IP

            EXIT STATUS: 0 success, 1 the probe failed, 2 bad input or a local error.
            """
    }

    /// Two aligned columns, each row on one line (the terminal wraps long ones; nothing restarts at column 0).
    static func columns(_ rows: [(String, String)], atLeast minimum: Int = 0) -> String {
        let width = max(minimum, rows.map(\.0.count).max() ?? 0)
        return rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }.joined(separator: "\n")
    }
}

enum SondeVersion {
    static let current = "0.1.0"
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

/// `sonde probes [--json]`: the registered probes and their parameters, from their declarations.
enum ProbesCommand {
    static let help = """
        OVERVIEW: List the probes and their parameters.

        USAGE: sonde probes [--json]

        OPTIONS:
          --json      Print the list as JSON
          -h, --help  Show this help
        """

    static func run(_ arguments: [String], registry: ProbeRegistry) -> ExitCode {
        var json = false
        for argument in arguments {
            switch argument {
            case "--json": json = true
            case "-h", "--help":
                Output.write(help)
                return .success
            default:
                Output.error("unknown option '\(argument)' for sonde probes: it takes --json only (see sonde probes --help)")
                return .usage
            }
        }
        let descriptors = registry.descriptors
        if json {
            Output.write(SondeJSON.line(descriptors.map(ProbeListing.init)))
            return .success
        }
        for descriptor in descriptors {
            Output.write("\(descriptor.kind)  \(descriptor.summary)")
            Output.write("  target: \(descriptor.target)")
            for spec in descriptor.parameters {
                let spelling = spec.optionSpellings.padding(22)
                let defaultText = spec.defaultValue.map { ", default \($0)" } ?? ""
                Output.write("  \(spec.name.padding(14))\(spelling)\(spec.allowedValues)\(defaultText)")
                Output.write("  \(String(repeating: " ", count: 36))\(spec.summary)")
            }
        }
        return .success
    }
}
