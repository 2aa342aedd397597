import ArgumentParser
import SondeCore

#if canImport(Glibc)
import Glibc
#endif

/// The registry, for ArgumentParser commands (which the parser constructs, not us). Set once at start-up,
/// before any command runs; kept off the ArgumentParser types so `sonde serve` never touches them.
enum RegisteredProbes {
    nonisolated(unsafe) static var registry = ProbeRegistry([])
}

struct SondeCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        let probes = RegisteredProbes.registry.descriptors.map { "  \($0.kind.rawValue.padding(8))\($0.summary)" }
        return CommandConfiguration(
            commandName: "sonde",
            abstract: "Network diagnostics from where it matters: ping, TCP connect and DNS probes.",
            discussion: """
                PROBES (sonde <probe> --help for options):
                \(probes.joined(separator: "\n"))

                SIDECAR AND GATEWAY:
                  serve     Serve the probe API over HTTP: the sidecar (sonde serve --help)
                  gateway   Forward the platform's requests to the sidecar in a pod (sonde gateway --help)

                REMOTE: sonde --agent http://POD-IP:8090 <probe> … runs the probe on that sidecar; through a
                gateway: --agent http://GATEWAY:8080/v1/agents/POD-IP
                """,
            version: SondeVersion.current,
            subcommands: [ProbesCommand.self]
        )
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

/// `sonde probes`: the registered probes and their parameters, from their declarations.
struct ProbesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "List the probes and their parameters."
    )

    @Flag(name: .long, help: "Print the list as JSON.")
    var json = false

    func run() throws {
        let descriptors = RegisteredProbes.registry.descriptors
        if json {
            Output.write(SondeJSON.line(descriptors.map(ProbeListing.init)))
            return
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
    }
}
