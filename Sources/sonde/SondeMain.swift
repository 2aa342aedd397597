import ArgumentParser
import PingProbe
import SondeCore

#if canImport(Glibc)
import Glibc
#endif

/// `sonde`: run a probe (`sonde ping …`), list probes (`sonde probes`).
///
/// Probe commands are generated from the registry: their options, help and validation come from each probe's
/// parameter declarations. The remaining commands are ordinary ArgumentParser commands.
@main
enum SondeMain {
    static func main() async {
        // Sockets are opened first, while the process is still single-threaded (the privilege drop goes here).
        let icmp = ICMPEngine.open()
        let registry = Registration.makeRegistry(icmp: icmp)
        SondeCommand.registry = RegistryBox(registry: registry)

        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, let probe = registry[ProbeKind(rawValue: first)] {
            let code = await runProbe(probe, arguments: Array(arguments.dropFirst()))
            exit(code.rawValue)
        }
        await SondeCommand.main(arguments)
    }

    static func runProbe(_ probe: some Probe, arguments: [String]) async -> ExitCode {
        let descriptor = probe.descriptor
        let commandLine: ProbeCommandLine
        do {
            commandLine = try ProbeCommandLine(arguments, descriptor: descriptor)
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
