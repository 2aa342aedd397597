import ExternalProbes
import SondeAgentClient
import SondeCore
import SondeHTTP
import SondePrivileges
import SondeServer

#if canImport(Glibc)
    import Glibc
#endif

/// `sonde`: run a probe (`sonde ping …`), list probes (`sonde probes`).
///
/// Probe commands are generated from the registry: their options, help and validation come from each probe's
/// parameter declarations; the other commands come from one table (``CommandTable``).
@main
enum SondeMain {
    static func main() async {
        // Nothing here may start a thread before the privilege drop: no await, Task, Dispatch or engine.
        var arguments = Array(CommandLine.arguments.dropFirst())
        let options: GlobalOptions
        do {
            options = try GlobalOptions.extract(from: &arguments)
        } catch {
            Output.error(error.description)
            exit(ExitCode.usage.rawValue)
        }
        // 1. Open what the probes need while privileged (only for the commands that run them).
        // 2. Keep only CAP_NET_RAW — or nothing at all for commands that need none. 3. Only then start threads.
        let command = arguments.first
        if command == "healthcheck" { exit(await HealthcheckCommand.run(Array(arguments.dropFirst())).rawValue) }
        let serving = command == "serve"
        let probesDirectory = options.probesDirectory ?? ExternalProbeLoader.defaultDirectory
        // Started as root, plug-ins get a user of their own: their launcher is forked now, single-threaded and
        // before any secret is read.
        if geteuid() == 0, command != "gateway", ExternalProbeLoader.mayHoldProbes(probesDirectory) {
            startPluginLauncher(options)
        }
        // The server's settings (and its token file) are read while still privileged and single-threaded.
        let serve = serving ? ServeCommand.configuration(Array(arguments.dropFirst()), probesDirectory: probesDirectory) : nil
        let gatewayConfiguration = command == "gateway" ? GatewayCommand.configuration(Array(arguments.dropFirst())) : nil
        // A flood of connections should meet the listener's connection cap, not the open-file limit.
        if serving || gatewayConfiguration != nil { ConnectionLimits.raiseFileLimit() }
        // What the probes of this command need opened while privileged (raw sockets); a probe run on an agent
        // opens nothing here.
        let local = options.agent == nil
        if Registration.needsStartupResources(command: command, serving: serving, local: local) { PrivilegeDrop.raiseNetRaw() }
        let opened = Registration.openStartupResources(command: command, serving: serving, local: local)
        let mode: PrivilegeMode
        let privileges: PrivilegeReport
        do {
            (mode, privileges) = try PrivilegeDrop.drop(to: options.user, keepNetRaw: opened.keepsNetRaw)
        } catch {
            Output.error(error.description)
            exit(ExitCode.usage.rawValue)
        }
        if options.verbose {
            Output.error("privileges: mode=\(mode.rawValue) \(privileges) \(opened.summary)")
        }
        if let gatewayConfiguration {
            exit(await GatewayCommand.run(gatewayConfiguration, privileges: "mode=\(mode.rawValue) \(privileges)").rawValue)
        }
        var registry = Registration.makeRegistry(opened)
        // External probes are children of an unprivileged process with NO_NEW_PRIVS: they hold nothing.
        // A compiled-in probe command does not look for them (its start-up stays short).
        var warnings: [String] = []
        if command.map({ registry[ProbeKind(rawValue: $0)] == nil }) ?? true {
            let loaded = await ExternalProbeLoader.load(
                from: probesDirectory,
                reserved: Set(registry.kinds.map(\.rawValue) + CommandTable.reservedNames), required: options.probesDirectory != nil
            )
            registry = ProbeRegistry(registry.probes + loaded.probes)
            warnings = loaded.warnings
            if !loaded.probes.isEmpty, PluginLauncher.installed == nil, serving {
                warnings.append(
                    "external probes run as Sonde's own uid \(getuid()): they could signal Sonde and read what it reads, such as its "
                        + "token file; start Sonde as root to run them as a user of their own (--plugin-user), or trust them as much as Sonde"
                )
            }
        }

        if let serve {
            if serve.checkOnly { exit(ServeCommand.check(serve.configuration, registry: registry).rawValue) }
            exit(await ServeCommand.run(serve.configuration, registry: registry, mode: mode, opened: opened, warnings: warnings).rawValue)
        }
        for warning in warnings { Output.error(warning) }

        if let first = arguments.first, let probe = registry[ProbeKind(rawValue: first)] {
            let rest = Array(arguments.dropFirst())
            guard let agentText = options.agent else { exit(await runProbe(probe, arguments: rest).rawValue) }
            do {
                let agent = try AgentAddress(agentText)
                let token = getenv("SONDE_TOKEN").map { String(cString: $0) }
                exit(await runRemote(probe, agent: agent, token: token, arguments: rest).rawValue)
            } catch {
                Output.error(error.message)
                exit(ExitCode.usage.rawValue)
            }
        }
        if let first = arguments.first, !first.hasPrefix("-"), !CommandTable.commands.contains(where: { $0.name == first }) {
            Output.error(
                "unknown command '\(first)': expected a probe (\(CommandTable.kinds(registry))), serve, gateway or probes (see sonde --help)")
            exit(ExitCode.usage.rawValue)
        }
        exit(CommandTable.run(arguments, registry: registry).rawValue)
    }

    /// Forks the plug-in launcher as `--plugin-user` (default 65533:65533), or exits saying why it cannot.
    static func startPluginLauncher(_ options: GlobalOptions) {
        let user = options.pluginUser ?? UnprivilegedUser(uid: PluginLauncher.defaultUser.uid, gid: PluginLauncher.defaultUser.gid)
        let sondeUser = options.user ?? .nobody
        guard user.uid != sondeUser.uid else {
            Output.error("invalid value '\(user)' for --plugin-user: plug-ins must run as another uid than Sonde's own (\(sondeUser), from --user)")
            exit(ExitCode.usage.rawValue)
        }
        do {
            try PluginLauncher.start(uid: user.uid, gid: user.gid)
        } catch {
            Output.error(error.description)
            exit(ExitCode.usage.rawValue)
        }
    }

    /// The same command line and output as a local run, with the probe run on the agent.
    static func runRemote<P: Probe>(_ probe: P, agent: AgentAddress, token: String?, arguments: [String]) async -> ExitCode {
        await runProbe(RemoteProbe(local: probe, agent: agent, token: token), arguments: arguments)
    }

    static func runProbe(_ probe: some Probe, arguments: [String]) async -> ExitCode {
        let descriptor = probe.descriptor
        let commandLine: ProbeCommandLine
        do {
            commandLine = try ProbeCommandLine(arguments, declaration: descriptor)
        } catch {
            Output.error(error.message)
            return .usage
        }
        if commandLine.showHelp {
            Output.write(ProbeCommandLine.help(for: descriptor))
            return .success
        }
        guard !commandLine.targets.isEmpty else {
            Output.error("missing target for \(descriptor.kind): expected \(descriptor.target) (see sonde \(descriptor.kind) --help)")
            return .usage
        }
        return await ProbeRunner(probe: probe, commandLine: commandLine).run()
    }
}
